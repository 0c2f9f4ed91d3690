"""Knowledge distillation: a teacher's soft targets (and optionally hidden states and attentions) train a student."""
