"""`rankbench run EXPERIMENT.toml`: the whole flow, resumable at every stage.

    teacher (cached by config hash; training resumes from its checkpoint)
      -> variants (each recipe step cached by its hash under <out_dir>/artifacts)
      -> cells (variant x backend x scenario, each cached under <out_dir>/cells)
      -> results.json -> report.html, summary.md, decision.json

Interrupted anywhere (Ctrl-C, a kill) and started again with the same command, it continues from
the finished work: every stage writes to a temporary name and renames, so nothing partial is read
as complete. A variant that fails to build or a cell that fails is recorded with its reason and the
run goes on; the end of the run lists what failed.

Builds, scoring, cells and confirmations are units of work run by the executor of `[run] executor`
(or --executor): "local", in this process, or "ray", spread over a Ray cluster
(rankbench.bench.executors), with artifacts, score files and cells in `[run] store` (a folder
every node sees, or an fsspec URL; by default out_dir). The teacher is trained here, by the driver.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rankbench.common.stages import StageClock

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
            "train_peak_rss_delta_bytes": report.get("peak_rss_delta_bytes"),
            "trainable_params": sum(p.numel() for p in ranker.model.parameters() if p.requires_grad),
            "notes": [f"fine-tuned from {base}: {report.get('steps')} steps, "
                      f"final loss {report.get('final_loss') or float('nan'):.4f}"]}
    return Artifact(folder, "teacher", "hf", meta).save()


def build_variants(exp, teacher, data, out_dir: Path, executor) -> tuple[dict, list[str]]:
    """name -> Artifact for every variant that builds (one unit of work each); failures become
    notes, not crashes."""
    from tqdm.auto import tqdm

    from rankbench.bench.executors.base import Needs, Work
    from rankbench.bench.executors.units import build_unit

    source, shared = executor.portable(teacher), executor.share(data)
    works = [Work(name, build_unit, (executor.store, source, steps, shared, exp.run.seed, exp.teacher.base),
                  Needs(threads=exp.run.threads), {"progress": True}) for name, steps in exp.variants.items()]
    built, failures, start = {}, [], time.perf_counter()
    bar = tqdm(total=len(works), desc="variants", unit="variant", dynamic_ncols=True)
    for outcome in executor.map(works):
        bar.update(1)
        name = outcome.key
        if outcome.ok:
            built[name] = executor.view(outcome.value)
            tqdm.write(f"variant {name:<28} ready ({time.perf_counter() - start:.0f} s into the builds)")
            continue
        failures.append(f"variant {name} failed to build: {outcome.error}")
        tqdm.write(f"variant {name:<28} FAILED: {outcome.error} (traceback in {out_dir / ERRORS_LOG})")
        with (out_dir / ERRORS_LOG).open("a") as log:
            log.write(f"--- variant {name}\n{outcome.detail or outcome.error}\n")
    bar.close()
    return {name: built[name] for name in exp.variants if name in built}, failures  # the file's order


def check_experiment(path: str | Path, eval_users: int | None = None, **run_overrides):
    """The parsed, validated experiment (with --eval-users and the other command-line overrides of
    [run] applied: executor, address, store); raises before any work."""
    from rankbench.bench.backends import backend_names
    from rankbench.bench.scenarios import scenario_names
    from rankbench.experiment.config import ExperimentError, load_experiment

    exp = load_experiment(path, backends=backend_names(), scenarios=scenario_names())
    if eval_users is not None:
        if eval_users < 1:
            raise ValueError(f"--eval-users must be >= 1, not {eval_users}")
        run_overrides["eval_users"] = eval_users
    overrides = {key: value for key, value in run_overrides.items() if value is not None}
    if overrides.get("executor") == "local":  # the file's cluster settings do not apply to a local run
        overrides.update(address=None, accelerator_type=None)
    if overrides:
        try:
            exp = dataclasses.replace(exp, run=dataclasses.replace(exp.run, **overrides))
        except ValueError as err:
            raise ExperimentError(f"{exp.source}: run: {err} (with the command-line options)") from None
    check_recipes(exp)
    check_executor(exp)
    return exp


def check_executor(exp) -> None:
    """What the executor needs, before any work: Ray installed, a store protocol fsspec knows."""
    import importlib.util

    from rankbench.common.store import Store

    if exp.run.executor == "ray" and importlib.util.find_spec("ray") is None:
        raise RuntimeError("--executor ray needs Ray, an optional extra: pip install -e '.[ray]'")
    if exp.run.store:
        Store(exp.run.store).check()


def open_executor(exp, out_dir: Path):
    """The run's executor over its store ([run] store, else the output folder)."""
    from rankbench.bench.executors import make_executor
    from rankbench.common.store import Store

    store = Store(exp.run.store or str(out_dir))
    if exp.run.executor == "local":
        if any("node_label" in b or "accelerator_type" in b for b in exp.backends):
            print("note: backend placements (node_label, accelerator_type) are for a cluster; "
                  "the local executor runs every cell here")
        return make_executor("local", store)
    return make_executor(exp.run.executor, store, address=exp.run.address,
                         accelerator_type=exp.run.accelerator_type, max_retries=exp.run.max_retries)


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
                   eval_users: int | None = None, **run_overrides) -> tuple[dict, int]:
    """Run the whole experiment; (results, exit code): EXIT_FAILURES when a variant or a cell failed.
    `run_overrides`: [run] keys from the command line (executor, address, store)."""
    from rankbench.bench.runner import apply_threads

    started = time.perf_counter()
    exp = check_experiment(path, eval_users, **run_overrides)
    apply_threads(exp.run.threads)  # before any tokenizer starts its thread pool
    out_dir = Path(out or exp.run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"experiment {exp.run.name}: {len(exp.variants)} variants x {len(exp.backends)} backends x "
          f"{len(exp.scenarios)} scenarios -> {out_dir} ({exp.run.executor} executor)")
    with open_executor(exp, out_dir) as executor:
        results, failures = _run(exp, out_dir, executor, retry_failed, eval_users)
    failed = [c["id"] for c in results["cells"] if c["status"] == "failed"]
    for failure in failures + [f"cell {cell_id} failed" for cell_id in failed]:
        print(f"  {failure}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return results, EXIT_FAILURES if failures or failed else 0


def _run(exp, out_dir: Path, executor, retry_failed: bool, eval_users: int | None) -> tuple[dict, list[str]]:
    """Teacher, variants, cells, decision and report; (results, build failures)."""
    from rankbench.bench.results import write_results
    from rankbench.models.data import load_data
    from rankbench.models.teacher import get_teacher

    clock = StageClock()
    data = load_data(exp.data)
    for split, purpose in (("train", "fine-tune the teacher on"), ("test", "evaluate and measure with")):
        if not getattr(data, split):
            raise ValueError(f"dataset {exp.data.dataset}: no {split} requests to {purpose}")
    ranker, folder, report = get_teacher(exp.teacher, exp.data, data)
    print(f"teacher: {folder} ({report['steps']} steps, {report['seconds']:.0f} s of training)")
    teacher = teacher_artifact(ranker, folder, report, exp.teacher.base)
    del ranker
    clock.lap("data and teacher")
    variants, failures = build_variants(exp, teacher, data, out_dir, executor)
    clock.lap("builds")
    users_note = f"evaluation users: {exp.run.eval_users}" + (" (--eval-users)" if eval_users else "")
    notes = [f"experiment file: {exp.source}", users_note, f"executor: {executor.name}, store: {executor.store.url}",
             f"teacher training: {report['steps']} steps in {report['seconds']:.0f} s", *failures]
    variants = {"teacher": teacher, **variants}
    results = measure(exp, variants, data, out_dir, notes, retry_failed, executor, clock)
    decide_and_report(exp, results, variants, data, out_dir, executor, clock)
    clock.lap("reports")
    write_results(out_dir / "results.json", results)
    print(f"time by stage: {clock.describe()}")
    return results, failures


def measure(exp, variants: dict, data, out_dir: Path, notes: list[str], retry_failed: bool, executor,
            clock: StageClock) -> dict:
    """Every cell of the experiment (the tables go to the runner as written, variant filters included);
    the runner laps its stages on `clock`, the run's StageClock."""
    from rankbench.bench.runner import run_benchmark

    return run_benchmark(variants, out_dir, exp.backends, exp.scenarios, data=data, threads=exp.run.threads,
                         users=exp.run.eval_users, teacher="teacher", constraints=exp.constraints.to_dict(),
                         timing=exp.timing, latency_requests=exp.run.latency_requests,
                         parity_requests=exp.run.parity_requests, run_name=exp.run.name,
                         experiment=exp.raw, notes=notes, retry_failed=retry_failed, progress=True,
                         executor=executor, clock=clock)


def decide_and_report(exp, results: dict, variants: dict, data, out_dir: Path, executor,
                      clock: StageClock) -> None:
    """decision.json (with the choice and runner-up confirmed), report.html and summary.md next to
    results.json (written by the runner; rewritten here with the confirmations and the run's time by
    stage so far, which the report shows)."""
    from rankbench.bench.results import write_results
    from rankbench.reports.render import write_report
    from rankbench.reports.select import select, write_decision

    source = str(out_dir / "results.json")
    decision = select(results, exp.constraints)
    if decision.choice and exp.run.confirm_samples:
        results["confirmations"] = confirm(exp, results, decision, variants, data, executor)
    clock.lap("confirmation")
    results["run"]["stage_seconds"] = clock.seconds
    write_results(out_dir / "results.json", results)
    decision.confirmation = results.get("confirmations", [])
    write_decision(decision, out_dir, source)
    for written in write_report(results, out_dir, exp.constraints, source=source):
        print(f"wrote {written}")
    print(f"wrote {out_dir / 'decision.json'}")
    decide_per_machine(results, exp.constraints, out_dir, source)
    print(f"decision: {decision.why if decision.choice else 'nothing feasible under ' + exp.constraints.describe()}")
    for item in decision.confirmation:
        bound = item.get("p99_upper_99")
        print(f"  confirmed {item['role']} {item['cell_id']}: " + (
            f"p99 {item['stats']['p99_ms']:.1f} ms from {item['stats']['n']} samples, <= {bound:.1f} ms at 99% "
            f"confidence" if item.get("stats") and bound is not None else item.get("reason") or "no bound"))


def decide_per_machine(results: dict, constraints, out_dir: Path, source: str) -> None:
    """Cells from several machines (a cluster run): one decision per machine as well,
    decision-<machine>.json (rankbench.reports.machines)."""
    from rankbench.reports.machines import decide_per_machine as decide, machine_names, write_machine_decisions

    if len(machine_names(results)) < 2:
        return
    decisions = decide(results, constraints)
    for path, (name, decision) in zip(write_machine_decisions(decisions, out_dir, source), decisions.items()):
        choice = decision.choice
        print(f"  machine {name}: " + (f"{choice.variant} on {choice.serving}" if choice else "nothing feasible")
              + f" ({path.name})")


def confirm(exp, results: dict, decision, variants: dict, data, executor) -> list[dict]:
    """The chosen cell and the runner-up measured again (rankbench.bench.confirm), each a timed unit
    of work placed as its cell was."""
    from rankbench.bench.backends import BackendOptions
    from rankbench.bench.executors.base import Needs, Work
    from rankbench.bench.executors.units import confirm_unit
    from rankbench.bench.placement import placement_from_dict

    by_id = {c["id"]: c for c in results["cells"]}
    chosen = [("choice", by_id[decision.choice.cell_id])]
    if decision.runner_up:
        chosen.append(("runner-up", by_id[decision.runner_up.cell_id]))
    requests = data.test[:exp.run.latency_requests]
    works = []
    for role, cell in chosen:
        options = BackendOptions.from_dict(cell.get("backend_options") or {})
        needs = Needs(cell["backend"], options, placement_from_dict(cell.get("placement")), timed=True,
                      threads=options.threads or exp.run.threads)
        args = (executor.store, role, cell, executor.portable(variants[cell["variant"]]), requests,
                exp.run.confirm_samples, exp.constraints.p99_ms)
        works.append(Work(cell["id"], confirm_unit, args, needs, {"log": print}))
    done = {o.key: o.value if o.ok else {"cell_id": o.key, "samples_ms": [], "stats": None, "p99_upper_99": None,
                                         "p99_holds": None, "status": "failed", "reason": o.error}
            for o in executor.map(works)}
    return [{**done[cell["id"]], "role": role} for role, cell in chosen]
