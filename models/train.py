#!/usr/bin/env python3
"""Trains the shipped temperature anomaly model and exports it as an ONNX file.

The model is a small dense autoencoder over a window of WINDOW temperature readings. The graph
itself centres the window on its mean (so the absolute level, which follows the weather, does
not matter), scales it, reconstructs it through a 4-unit bottleneck, and outputs the mean
squared reconstruction error divided by a calibration constant: a score of 1.0 is the 99.5th
percentile of scores on normal validation data, so `threshold 1.0` is the documented operating
point.

Everything is seeded: running it again writes the same files.

    python3 -m venv venv && venv/bin/pip install -r models/requirements.txt
    venv/bin/python models/train.py            # writes models/temperature-ae.onnx etc.

Outputs (next to this script):
  temperature-ae.onnx           the model (ONNX, opset 13: ReduceMean, Sub, Div, Gemm, Tanh, Mul)
  temperature-ae.reference.json windows and the scores this script computes for them, for the
                                daemon's test that tract (and the fallback evaluator) agree
  temperature-replay.csv        a replay stream (ts_ms,value,anomaly) with injected anomalies
  temperature-ae.eval.txt       evaluation figures (precision/recall per anomaly kind)
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WINDOW = 16
HIDDEN = 8
BOTTLENECK = 4
SAMPLE_MS = 60_000  # one reading a minute
CALIBRATION_PERCENTILE = 99.5
HERE = os.path.dirname(os.path.abspath(__file__))


def normal_temperature(rng, n):
    """Indoor-ish temperature: daily cycle, slow weather drift, sensor noise, 0.01 resolution."""
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi)
    daily = rng.uniform(1.5, 4.0) * np.sin(2 * np.pi * t / 1440 + phase)
    drift = np.zeros(n)
    for i in range(1, n):  # AR(1) around 0 with a time constant of about 6 hours
        drift[i] = drift[i - 1] * (1 - 1 / 360) + rng.normal(0, 0.03)
    noise_std = rng.uniform(0.03, 0.12)
    base = rng.uniform(16, 26)
    values = base + daily + drift + rng.normal(0, noise_std, n)
    return np.round(values, 2)


def inject(rng, values, count):
    """Adds `count` anomalies; returns (values, per-sample anomaly kind: 0 none, 1 spike,
    2 offset segment, 3 noise burst)."""
    values = values.copy()
    kind = np.zeros(len(values), dtype=np.int64)
    placed = 0
    while placed < count:
        start = rng.integers(WINDOW, len(values) - 3 * WINDOW)
        if kind[max(0, start - 2 * WINDOW): start + 3 * WINDOW].any():
            continue
        k = rng.integers(1, 4)
        if k == 1:
            length = rng.integers(1, 3)
            values[start: start + length] += rng.choice([-1, 1]) * rng.uniform(1.5, 5.0)
        elif k == 2:
            length = rng.integers(3, 9)
            values[start: start + length] += rng.choice([-1, 1]) * rng.uniform(1.0, 3.0)
        else:
            length = 8
            values[start: start + length] += rng.normal(0, rng.uniform(0.6, 1.2), length)
        kind[start: start + length] = k
        placed += 1
    return np.round(values, 2), kind


def windows(values):
    idx = np.arange(WINDOW)[None, :] + np.arange(len(values) - WINDOW + 1)[:, None]
    return values[idx]


class Autoencoder:
    def __init__(self, rng):
        def layer(n_out, n_in):
            return [rng.normal(0, np.sqrt(1 / n_in), (n_out, n_in)), np.zeros(n_out)]

        self.layers = [layer(HIDDEN, WINDOW), layer(BOTTLENECK, HIDDEN),
                       layer(HIDDEN, BOTTLENECK), layer(WINDOW, HIDDEN)]
        self.scale = 1.0
        self.calibration = 1.0

    def prepare(self, w):
        return (w - w.mean(axis=1, keepdims=True)) / self.scale

    def forward(self, x):
        acts = [x]
        for i, (w, b) in enumerate(self.layers):
            z = acts[-1] @ w.T + b
            acts.append(np.tanh(z) if i < len(self.layers) - 1 else z)
        return acts

    def score(self, raw):
        x = self.prepare(raw)
        recon = self.forward(x)[-1]
        return ((recon - x) ** 2).mean(axis=1) / self.calibration

    def train(self, rng, raw, epochs=40, batch=64, lr=3e-3):
        x_all = self.prepare(raw)
        params = [p for layer in self.layers for p in layer]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        step = 0
        for epoch in range(epochs):
            order = rng.permutation(len(x_all))
            total = 0.0
            for s in range(0, len(order), batch):
                x = x_all[order[s: s + batch]]
                acts = self.forward(x)
                err = acts[-1] - x
                total += (err ** 2).sum()
                grad = 2 * err / (x.shape[0] * x.shape[1])
                grads = []
                for i in reversed(range(len(self.layers))):
                    w, _ = self.layers[i]
                    if i < len(self.layers) - 1:
                        grad = grad * (1 - acts[i + 1] ** 2)
                    grads.append((grad.T @ acts[i], grad.sum(axis=0)))
                    grad = grad @ w
                grads = [g for pair in reversed(grads) for g in pair]
                step += 1
                for j, (p, g) in enumerate(zip(params, grads)):
                    m[j] = 0.9 * m[j] + 0.1 * g
                    v[j] = 0.999 * v[j] + 0.001 * g * g
                    mh = m[j] / (1 - 0.9 ** step)
                    vh = v[j] / (1 - 0.999 ** step)
                    p -= lr * mh / (np.sqrt(vh) + 1e-8)
            if epoch % 10 == 9:
                print(f"epoch {epoch + 1}: mse {total / x_all.size:.5f}")


OPSET = 13  # ReduceMean takes its axes as an attribute up to opset 17


def export(model, path):
    """Writes the ONNX graph: centre, scale, the four dense layers, mean squared error, calibrate.

    Gemm takes each weight as stored ([out, in], transB=1), so the file holds the trained
    float64 values rounded once to float32, in the same layout as the training code."""
    def tensor(name, array):
        return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)

    names = ["enc1", "enc2", "dec1", "dec2"]
    initializers = [tensor("scale", np.full((1, 1), model.scale)),
                    tensor("calibration", np.full((1, 1), model.calibration))]
    nodes = [helper.make_node("ReduceMean", ["input"], ["centre"], axes=[1], keepdims=1),
             helper.make_node("Sub", ["input", "centre"], ["centred"]),
             helper.make_node("Div", ["centred", "scale"], ["x"])]
    previous = "x"
    for i, (name, (w, b)) in enumerate(zip(names, model.layers)):
        initializers += [tensor(f"{name}_weight", w), tensor(f"{name}_bias", b)]
        z = f"{name}_z"
        nodes.append(helper.make_node("Gemm", [previous, f"{name}_weight", f"{name}_bias"], [z],
                                      transB=1))
        if i < len(model.layers) - 1:
            nodes.append(helper.make_node("Tanh", [z], [f"{name}_a"]))
            previous = f"{name}_a"
        else:
            previous = z
    nodes += [helper.make_node("Sub", [previous, "x"], ["err"]),
              helper.make_node("Mul", ["err", "err"], ["sq"]),
              helper.make_node("ReduceMean", ["sq"], ["mse"], axes=[1], keepdims=1),
              helper.make_node("Div", ["mse", "calibration"], ["score"])]
    graph = helper.make_graph(
        nodes, "temperature_anomaly",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, WINDOW])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1])],
        initializers)
    onnx_model = helper.make_model(graph, producer_name="acs-edge models/train.py",
                                   opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 8  # the IR version that goes with opset 13
    onnx.checker.check_model(onnx_model, full_check=True)
    with open(path, "wb") as f:
        f.write(onnx_model.SerializeToString(deterministic=True))


def evaluate(model, rng, threshold, report):
    """Per-window precision/recall on fresh streams with injected anomalies."""
    tp = fp = fn = tn = 0
    per_kind = {1: [0, 0], 2: [0, 0], 3: [0, 0]}  # kind -> [detected, total] windows
    events_found = events_total = 0
    for _ in range(8):
        values, kind = inject(rng, normal_temperature(rng, 4 * 1440), 40)
        w_kind = windows(kind)
        scores = model.score(windows(values))
        anomalous = w_kind.any(axis=1)
        flagged = scores >= threshold
        tp += int((flagged & anomalous).sum())
        fp += int((flagged & ~anomalous).sum())
        fn += int((~flagged & anomalous).sum())
        tn += int((~flagged & ~anomalous).sum())
        for k in per_kind:
            has_k = (w_kind == k).any(axis=1)
            per_kind[k][0] += int((flagged & has_k).sum())
            per_kind[k][1] += int(has_k.sum())
        # An event is found when any window overlapping it is flagged.
        starts = np.flatnonzero((kind != 0) & (np.r_[0, kind[:-1]] == 0))
        for s in starts:
            events_total += 1
            lo, hi = max(0, s - WINDOW + 1), min(len(flagged), s + 1)
            events_found += int(flagged[lo:hi].any())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    lines = [
        f"threshold {threshold:.2f} (score units; 1.0 = {CALIBRATION_PERCENTILE}th percentile of normal windows)",
        f"windows: {tp + fp + fn + tn}, anomalous {tp + fn}",
        f"per window: precision {precision:.3f} recall {recall:.3f} (tp {tp} fp {fp} fn {fn})",
        f"per event (any overlapping window flagged): recall {events_found / events_total:.3f} "
        f"({events_found}/{events_total})",
        f"false alarms per day of normal data: {fp / (8 * 4):.1f}",
    ]
    for k, name in [(1, "spike"), (2, "offset segment"), (3, "noise burst")]:
        found, total = per_kind[k]
        lines.append(f"  recall on windows with a {name}: {found / max(total, 1):.3f} ({found}/{total})")
    report.extend(lines)
    for line in lines:
        print(line)


def main():
    rng = np.random.default_rng(20261128)
    train = np.concatenate([windows(normal_temperature(rng, 3 * 1440)) for _ in range(12)])
    model = Autoencoder(rng)
    centred = train - train.mean(axis=1, keepdims=True)
    model.scale = float(centred.std())
    model.train(rng, train)
    validation = np.concatenate([windows(normal_temperature(rng, 2 * 1440)) for _ in range(6)])
    model.calibration = float(np.percentile(model.score(validation), CALIBRATION_PERCENTILE))
    print(f"scale {model.scale:.4f} calibration {model.calibration:.6f}")

    report = [f"model: dense autoencoder {WINDOW}-{HIDDEN}-{BOTTLENECK}-{HIDDEN}-{WINDOW} (tanh),"
              f" window {WINDOW} readings, trained on {len(train)} normal windows"]
    for threshold in (1.0, 2.0, 4.0):
        evaluate(model, np.random.default_rng(7), threshold, report)
    export(model, os.path.join(HERE, "temperature-ae.onnx"))
    with open(os.path.join(HERE, "temperature-ae.eval.txt"), "w") as f:
        f.write("\n".join(report) + "\n")

    # Reference windows: normal ones and anomalous ones, with this script's float64 scores.
    ref_rng = np.random.default_rng(11)
    values, kind = inject(ref_rng, normal_temperature(ref_rng, 600), 6)
    w = windows(values)
    picks = list(range(0, len(w), 37)) + [int(i) for i in np.flatnonzero(windows(kind).any(axis=1))[::5]]
    reference = {"window": WINDOW,
                 "cases": [{"input": w[i].tolist(), "score": float(model.score(w[i:i + 1])[0])}
                           for i in sorted(set(picks))]}
    with open(os.path.join(HERE, "temperature-ae.reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")

    # The replay stream for the daemon's end-to-end test: 6 hours, 5 anomalies.
    replay_rng = np.random.default_rng(3)
    values, kind = inject(replay_rng, normal_temperature(replay_rng, 360), 5)
    start = 1_767_225_600_000
    with open(os.path.join(HERE, "temperature-replay.csv"), "w") as f:
        f.write("ts_ms,value,anomaly\n")
        for i, (v, k) in enumerate(zip(values, kind)):
            f.write(f"{start + i * SAMPLE_MS},{v:.2f},{int(k)}\n")


if __name__ == "__main__":
    main()
