"""Tasks: the shape of a problem (targets, head, loss, metrics, report, serving, distillation), by name."""
