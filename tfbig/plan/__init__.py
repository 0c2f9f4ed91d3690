"""Memory plans: what a run will hold in memory, computed from the config before any data or weight is read."""
from tfbig.plan.memory import MemoryPlan, format_plan, plan_memory

__all__ = ["MemoryPlan", "format_plan", "plan_memory"]
