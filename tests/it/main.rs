//! Latchkey's integration tests, in one binary so the crate links once.
//!
//! Every test starts the real router on an ephemeral loopback port with its
//! own temporary data folder (or the real binary, for the command line), and
//! talks HTTP to it with a real client and cookie jar.

mod abuse;
mod audit;
mod browser;
mod cli;
mod crash;
mod deploy;
mod fuzz_targets;
mod hardening;
mod hashing;
mod hostile;
mod invitations;
mod mail;
mod metrics;
mod operations;
mod permissions;
mod profile;
mod roles;
mod security;
mod sessions;
mod settings;
mod setup;
mod sign_in;
mod smtp;
mod support;
mod two_factor;
mod users;
mod web_security;
