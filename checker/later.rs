//! The checks of steps 5 to 10.
use crate::check::Check;
pub const STEP5: &[Check] = &[];
pub const STEP6: &[Check] = &[];
pub const STEP7: &[Check] = &[];
pub const STEP8: &[Check] = &[];
pub const STEP9: &[Check] = &[];
pub const STEP10: &[Check] = &[];
