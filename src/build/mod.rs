//! The build side: reaching Docker daemons (and, later, contexts and builds).

pub mod docker;
