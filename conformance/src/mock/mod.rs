//! The mock tenant (being built).
