"""Outputs and scores: what prediction and evaluation leave for people and for the challenge
(TIFs, masks, PNG overlays, metrics.json) and the challenge's scores.

May import utils.data and utils.runtime; never TensorFlow, the graph or the run stage.
"""
