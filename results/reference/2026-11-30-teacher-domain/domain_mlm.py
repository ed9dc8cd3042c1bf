"""Domain-adaptive pre-training, tried for the teacher (this folder's README): masked-language-model
steps on MovieLens training pairs (a training request's context and its positive item's text, as
the ranker reads them; training split only), starting from all-MiniLM-L6-v2 with a fresh MLM head,
then saved as a BERT folder that `[teacher] base` can name (its pooler kept from the base: the MLM
model has none).

    .venv/bin/python results/reference/2026-11-30-teacher-domain/domain_mlm.py --steps 300 \\
        --lr 2e-4 --out runs/dapt-300

The vocabulary is projected at the masked positions only (the full projection tripled a step's time).
"""
import argparse
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import (AutoTokenizer, BertForMaskedLM, BertForSequenceClassification,
                          DataCollatorForLanguageModeling, get_linear_schedule_with_warmup)

from rankbench.models.data import DataConfig, load_data
from rankbench.models.presets import minilm_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32, help="pairs per step (the teacher's 8 requests x 4)")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--mask", type=float, default=0.15, help="share of tokens masked")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    random.seed(0)
    # make run's inputs (experiments/default.toml [data])
    data = load_data(DataConfig(item_details=True, demographics=True))
    pairs = [(r.context, c.text) for r in data.train for c in r.candidates if c.label > 0]
    print(f"{len(pairs)} training pairs, e.g. {pairs[0]}")
    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    mlm = BertForMaskedLM.from_pretrained(path)
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=args.mask)
    optimizer = torch.optim.AdamW([p for p in mlm.parameters() if p.requires_grad], lr=args.lr,
                                  weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * args.steps), args.steps)
    rng = random.Random(0)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    mlm.train()
    start, pos = time.time(), 0
    for step in range(args.steps):
        if pos + args.batch > len(order):
            rng.shuffle(order)
            pos = 0
        batch = [pairs[i] for i in order[pos:pos + args.batch]]
        pos += args.batch
        enc = tokenizer([b[0] for b in batch], [b[1] for b in batch], truncation="longest_first",
                        max_length=args.max_length, padding=True)
        inputs = collate([{k: enc[k][i] for k in enc} for i in range(len(batch))])
        labels = inputs.pop("labels")
        hidden = mlm.bert(**inputs).last_hidden_state
        masked = labels != -100
        loss = F.cross_entropy(mlm.cls(hidden[masked]), labels[masked])
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 25 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f} {time.time() - start:.0f}s", flush=True)
    print(f"MLM steps took {time.time() - start:.0f} s")
    ranker = BertForSequenceClassification.from_pretrained(path, num_labels=1)
    missing, unexpected = ranker.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
    print("kept from the base:", missing, "unexpected:", unexpected)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ranker.save_pretrained(out)
    tokenizer.save_pretrained(out)
    print("saved", out)


if __name__ == "__main__":
    main()
