"""Report building blocks below the tasks: scikit-learn reports, PNG plots, markdown, baselines."""
