"""`rankbench run EXPERIMENT.toml`: the whole flow, resumable at every stage.

    teacher (cached by config hash; training resumes from its checkpoint)
      -> variants (each recipe step cached by its hash under <out_dir>/artifacts)
      -> cells (variant x backend x scenario, each cached under <out_dir>/cells)
      -> results.json -> report.html, summary.md, decision.json

Interrupted anywhere (Ctrl-C, a kill) and started again with the same command, it continues from
the finished work: every stage writes to a temporary name and renames, so nothing partial is read
as complete. A variant that fails to build or a cell that fails is recorded with its reason and the
run goes on; the end of the run lists what failed.
"""
from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path

ERRORS_LOG = "errors.log"
EXIT_FAILURES = 1  # the run finished and wrote everything it could, but a variant or a cell failed


def teacher_artifact(ranker, folder: Path, report: dict, base: str):
    """The cached teacher folder as an Artifact (metadata written once, next to the weights)."""
    from rankbench.compress.api import model_meta
    from rankbench.compress.artifact import ARTIFACT_FILE, Artifact, content_hash

    if (folder / ARTIFACT_FILE).is_file():
        return Artifact.load(folder)
    meta = {**model_meta(ranker.model), "recipe": [], "base": base,
            "content_hash": content_hash(folder), "train_seconds": report.get("seconds"),
            "trainable_params": sum(p.numel() for p in ranker.model.parameters() if p.requires_grad),
            "notes": [f"fine-tuned from {base}: {report.get('steps')} steps, "
                      f"final loss {report.get('final_loss') or float('nan'):.4f}"]}
    return Artifact(folder, "teacher", "hf", meta).save()


def build_variants(exp, teacher, data, out_dir: Path) -> tuple[dict, list[str]]:
    """name -> Artifact for every variant that builds; failures become notes, not crashes."""
    from tqdm.auto import tqdm

    from rankbench.compress.api import CompressContext
    from rankbench.compress.recipe import build_recipe

    ctx = CompressContext(out_dir=out_dir / "artifacts", data=data, teacher=teacher,
                          base=exp.teacher.base, seed=exp.run.seed, progress=True)
    built, failures = {}, []
    bar = tqdm(exp.variants.items(), desc="variants", unit="variant", dynamic_ncols=True)
    for name, steps in bar:
        bar.set_postfix_str(name)
        start = time.perf_counter()
        try:
            built[name] = build_recipe(teacher, steps, ctx)
            tqdm.write(f"variant {name:<28} ready ({time.perf_counter() - start:.0f} s)")
        except KeyboardInterrupt:
            raise
        except Exception as err:  # noqa: BLE001 - one broken recipe must not stop the others
            reason = f"{type(err).__name__}: {err}"
            failures.append(f"variant {name} failed to build: {reason}")
            tqdm.write(f"variant {name:<28} FAILED: {reason} (traceback in {out_dir / ERRORS_LOG})")
            with (out_dir / ERRORS_LOG).open("a") as log:
                log.write(f"--- variant {name}\n{traceback.format_exc()}\n")
    return built, failures


def check_experiment(path: str | Path, eval_users: int | None = None):
    """The parsed, validated experiment (with --eval-users applied); raises before any work."""
    from rankbench.bench.backends import backend_names
    from rankbench.bench.scenarios import scenario_names
    from rankbench.experiment.config import load_experiment

    exp = load_experiment(path, backends=backend_names(), scenarios=scenario_names())
    if eval_users is not None:
        if eval_users < 1:
            raise ValueError(f"--eval-users must be >= 1, not {eval_users}")
        exp = dataclasses.replace(exp, run=dataclasses.replace(exp.run, eval_users=eval_users))
    check_recipes(exp)
    return exp


def check_recipes(exp) -> None:
    """Every recipe against the teacher's shape (its base model's layers) and every step's input
    format, without building anything: a 7-layer student of a 6-layer teacher fails here."""
    from rankbench.compress.config import Shape
    from rankbench.compress.recipe import validate_steps
    from rankbench.experiment.config import ExperimentError
    from rankbench.models.presets import base_layers

    teacher = Shape("hf", base_layers(exp.teacher.base), True)
    for name, steps in exp.variants.items():
        try:
            validate_steps(teacher, steps)
        except ValueError as err:
            raise ExperimentError(f"{exp.source}: variant {name!r}: {err}") from None


def run_experiment(path: str | Path, out: str | Path | None = None, retry_failed: bool = False,
                   eval_users: int | None = None) -> tuple[dict, int]:
    """Run the whole experiment; (results, exit code): EXIT_FAILURES when a variant or a cell failed."""
    from rankbench.models.data import load_data
    from rankbench.models.teacher import get_teacher

    from rankbench.bench.runner import apply_threads

    started = time.perf_counter()
    exp = check_experiment(path, eval_users)
    apply_threads(exp.run.threads)  # before any tokenizer starts its thread pool
    out_dir = Path(out or exp.run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"experiment {exp.run.name}: {len(exp.variants)} variants x {len(exp.backends)} backends x "
          f"{len(exp.scenarios)} scenarios -> {out_dir}")
    data = load_data(exp.data)
    for split, purpose in (("train", "fine-tune the teacher on"), ("test", "evaluate and measure with")):
        if not getattr(data, split):
            raise ValueError(f"dataset {exp.data.dataset}: no {split} requests to {purpose}")
    ranker, folder, report = get_teacher(exp.teacher, exp.data, data)
    print(f"teacher: {folder} ({report['steps']} steps, {report['seconds']:.0f} s of training)")
    teacher = teacher_artifact(ranker, folder, report, exp.teacher.base)
    del ranker
    variants, failures = build_variants(exp, teacher, data, out_dir)
    users_note = f"evaluation users: {exp.run.eval_users}" + (" (--eval-users)" if eval_users else "")
    notes = [f"experiment file: {exp.source}", users_note,
             f"teacher training: {report['steps']} steps in {report['seconds']:.0f} s", *failures]
    variants = {"teacher": teacher, **variants}
    results = measure(exp, variants, data, out_dir, notes, retry_failed)
    decide_and_report(exp, results, variants, data, out_dir)
    failed = [c["id"] for c in results["cells"] if c["status"] == "failed"]
    for failure in failures + [f"cell {cell_id} failed" for cell_id in failed]:
        print(f"  {failure}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return results, EXIT_FAILURES if failures or failed else 0


def measure(exp, variants: dict, data, out_dir: Path, notes: list[str], retry_failed: bool) -> dict:
    """Every cell of the experiment (the tables go to the runner as written, variant filters included)."""
    from rankbench.bench.runner import run_benchmark

    return run_benchmark(variants, out_dir, exp.backends, exp.scenarios, data=data, threads=exp.run.threads,
                         users=exp.run.eval_users, teacher="teacher", constraints=exp.constraints.to_dict(),
                         timing=exp.timing, latency_requests=exp.run.latency_requests,
                         parity_requests=exp.run.parity_requests, run_name=exp.run.name,
                         experiment=exp.raw, notes=notes, retry_failed=retry_failed, progress=True)


def decide_and_report(exp, results: dict, variants: dict, data, out_dir: Path) -> None:
    """decision.json (with the choice and runner-up confirmed), report.html and summary.md next to
    results.json (written by the runner; rewritten here with the confirmations)."""
    from rankbench.bench.results import write_results
    from rankbench.reports.render import write_report
    from rankbench.reports.select import select, write_decision

    source = str(out_dir / "results.json")
    decision = select(results, exp.constraints)
    if decision.choice and exp.run.confirm_samples:
        results["confirmations"] = confirm(exp, results, decision, variants, data, out_dir)
        write_results(out_dir / "results.json", results)
    decision.confirmation = results.get("confirmations", [])
    write_decision(decision, out_dir, source)
    for written in write_report(results, out_dir, exp.constraints, source=source):
        print(f"wrote {written}")
    print(f"wrote {out_dir / 'decision.json'}")
    print(f"decision: {decision.why if decision.choice else 'nothing feasible under ' + exp.constraints.describe()}")
    for item in decision.confirmation:
        bound = item.get("p99_upper_99")
        print(f"  confirmed {item['role']} {item['cell_id']}: " + (
            f"p99 {item['stats']['p99_ms']:.1f} ms from {item['stats']['n']} samples, <= {bound:.1f} ms at 99% "
            f"confidence" if item.get("stats") and bound is not None else item.get("reason") or "no bound"))


def confirm(exp, results: dict, decision, variants: dict, data, out_dir: Path) -> list[dict]:
    """The chosen cell and the runner-up measured again (rankbench.bench.confirm)."""
    from rankbench.bench.confirm import confirm_cells

    by_id = {c["id"]: c for c in results["cells"]}
    chosen = [("choice", by_id[decision.choice.cell_id])]
    if decision.runner_up:
        chosen.append(("runner-up", by_id[decision.runner_up.cell_id]))
    return confirm_cells(chosen, variants, data.test[:exp.run.latency_requests], out_dir / "cells",
                         sla_p99_ms=exp.constraints.p99_ms, samples=exp.run.confirm_samples, log=print)
