"""Everything around the model: parameters, data, model_fn, runner, hooks."""
