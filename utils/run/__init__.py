"""Running an Estimator: the runner, the Estimator and --model_dir, training, evaluation,
prediction, export, checkpoints, TTA and cross-validation. The top stage: may import every
other one, never main.py."""
