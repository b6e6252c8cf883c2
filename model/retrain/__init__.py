"""Retraining: teach the model in use new products (`python main.py retrain`).

plan (which photos, which products, the new metadata) -> fast (a head on cached features,
features + bank) or full (the whole network through model.train) -> report (the verdict), with
core running them (assistant.maintainer runs it for the window and the command line)."""
from model.retrain.core import (
           REFUSED,
           RetrainConfig,
           RetrainResult,
           add_arguments,
           check_inputs,
           retrain,
           warm_cache,
)

__all__ = ["REFUSED", "RetrainConfig", "RetrainResult", "add_arguments", "check_inputs", "retrain",
           "warm_cache"]
