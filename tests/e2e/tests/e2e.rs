//! End-to-end: a real `consilium-relay` process and several profiles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admission;
mod concurrency;
mod desktop_accessibility;
mod desktop_backup;
mod desktop_languages;
mod desktop_removal;
mod desktop_window;
mod dicom_and_faces;
mod faults;
mod hostile_member;
mod load_balanced;
mod lost_laptop;
mod privacy_gate;
mod retraction;
mod roles;
mod support;
mod tampering;
mod three_physicians;
