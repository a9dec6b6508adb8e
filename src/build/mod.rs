//! The build side: contexts (`.dockerignore`, tar, hash), built-in
//! Dockerfiles, images, and reaching Docker daemons.

pub mod builder;
pub mod context;
pub mod hash_cache;
pub mod ignore;
pub mod image;
pub mod session;
pub mod template;
