"""Run folders and the one run skeleton every job (train, distill, ...) goes through."""
