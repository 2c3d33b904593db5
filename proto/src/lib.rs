//! acs-proto: wire formats shared by the acs-edge gateway and sensor firmware.
#![cfg_attr(not(test), no_std)]
