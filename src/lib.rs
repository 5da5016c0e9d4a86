//! Latchkey: a self-hosted account portal in one binary.
//!
//! Data flows one way: `web` (HTTP) → `accounts` (use cases) → `store`
//! (redb), and back through `views` (HTML). `domain` holds the product's
//! types and rules, free of all three. `config` and `cli` are the edges a
//! person touches before anything starts, `admin` the one an operator uses
//! while it runs; `mail` composes messages and its worker sends what the
//! use cases queued in the store; `metrics` holds the counters `web`
//! records and `/metrics` shows, and `healthcheck` is the probe a container
//! runs; `app` wires it all together.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod mail;
pub mod metrics;
pub mod store;
pub mod views;
pub mod web;
