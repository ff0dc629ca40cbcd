"""ONNX Runtime sessions: created lazily on first use, cached per process, CPU only."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import onnxruntime as ort


@lru_cache(maxsize=32)
def onnx_session(path: Path, threads: int = 0) -> ort.InferenceSession:
    """A cached CPU session for a weight file; `threads=0` lets ONNX Runtime choose."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Fold quantise/dequantise pairs into float kernels: about 3x faster for the int8bq YuNet and SFace files.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    # Idle threads sleep instead of spinning: spinning threads starve other processes (and workers) on a laptop.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
