//! Sizes (`64M`) and durations (`30s`) as users write them.
