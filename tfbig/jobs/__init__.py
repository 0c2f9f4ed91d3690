"""Jobs: the one run skeleton (strategy → precision → data → model → fit → report → export) and each job on it."""
