"""Tiny Chronos and Chronos-Bolt checkpoints with random weights (no download): a T5 config with
a `chronos_config` and a Bolt config, saved with `save_pretrained` as the real ones are."""

from __future__ import annotations

from pathlib import Path

import torch

SIZES = {"d_model": 16, "d_kv": 8, "d_ff": 32, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2}


def save_chronos_t5(folder: Path, prediction_length: int = 16) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(vocab_size=64, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, **SIZES)
    config.chronos_config = {
        "tokenizer_class": "MeanScaleUniformBins", "tokenizer_kwargs": {"low_limit": -15.0, "high_limit": 15.0},
        "context_length": 64, "prediction_length": prediction_length, "n_tokens": 64, "n_special_tokens": 2,
        "pad_token_id": 0, "eos_token_id": 1, "use_eos_token": True, "model_type": "seq2seq", "num_samples": 20,
        "temperature": 1.0, "top_k": 50, "top_p": 1.0}
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    return folder


def save_chronos_bolt(folder: Path, prediction_length: int = 16) -> Path:
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    config = T5Config(decoder_start_token_id=0, pad_token_id=0, **SIZES)
    config.chronos_config = {"context_length": 64, "prediction_length": prediction_length, "input_patch_size": 8,
                             "input_patch_stride": 8, "quantiles": [0.1, 0.5, 0.9], "use_reg_token": True}
    config.chronos_pipeline_class = "ChronosBoltPipeline"
    config.architectures = ["ChronosBoltModelForForecasting"]
    torch.manual_seed(0)
    ChronosBoltModelForForecasting(config).save_pretrained(folder)
    return folder
