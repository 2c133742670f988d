"""The training graph: model_fn with its losses, optimizer and learning rate, the divergence
guard and the weights' moving average. May import utils.hooks, utils.data, utils.runtime and
model/; never utils.outputs or the run stage."""
