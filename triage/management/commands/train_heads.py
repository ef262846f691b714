from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# The targets the offline profile is held to: sentence eval accuracy (issue 4) and,
# on the whole-email evaluation set's English mail, sentiment macro-F1 and intent
# accuracy (issue 13).
TARGETS = {"sentiment": 0.85, "intent": 0.75}
EMAIL_TARGETS = {"sentiment": ("macro_f1", 0.85), "intent": ("accuracy", 0.8)}


class Command(BaseCommand):
    help = (
        "Train the offline sentiment and intent heads (logistic regression on MiniLM "
        "embeddings) on data/labelled, optionally plus agents' ticket labels, and "
        "print eval accuracy and confusion matrices."
    )

    def add_arguments(self, parser) -> None:
        from workers.nlp.offline.head_files import EVAL_EMAILS, LABELLED_DATA

        parser.add_argument("--data", type=Path, default=LABELLED_DATA)
        parser.add_argument("--out", type=Path, default=settings.TRIAGE_HEADS_DIR)
        parser.add_argument(
            "--eval-emails",
            default=str(EVAL_EMAILS),
            help="whole emails to evaluate and calibrate on ('' for none)",
        )
        parser.add_argument(
            "--from-tickets",
            action="store_true",
            help="add the labels agents set or corrected on tickets",
        )
        parser.add_argument(
            "--tickets-only",
            action="store_true",
            help="train on ticket labels alone (no eval split then)",
        )

    def handle(
        self,
        *args: Any,
        data: Path,
        out: Path,
        from_tickets: bool,
        tickets_only: bool,
        eval_emails: str = "",
        **options: Any,
    ) -> None:
        from tqdm import tqdm

        from workers.nlp.offline.evaluate import format_confusion
        from workers.nlp.offline.train import (
            Example,
            normalise_label,
            train_heads,
        )

        extra: dict[str, list[Example]] = {}
        if from_tickets or tickets_only:
            from triage.selectors_training import ticket_label_examples

            for task, pairs in ticket_label_examples().items():
                good = [
                    Example(text, label)
                    for text, raw in pairs
                    if (label := normalise_label(task, raw)) is not None
                ]
                extra[task] = good
                skipped = len(pairs) - len(good)
                self.stdout.write(
                    f"{len(good)} ticket labels for {task}"
                    + (
                        f" ({skipped} skipped: label unknown to the head)"
                        if skipped
                        else ""
                    )
                )
            if tickets_only and not all(extra.values()):
                raise CommandError("--tickets-only needs ticket labels for both heads")
        emails = (
            self._eval_emails(Path(eval_emails))
            if eval_emails and not tickets_only
            else []
        )
        try:
            results = train_heads(
                None if tickets_only else data,
                out,
                extra=extra,
                eval_emails=emails,
                progress=lambda total: tqdm(total=total, desc="embedding", unit="text"),
            )
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

        for task, result in results.items():
            self.stdout.write(
                self.style.MIGRATE_HEADING(
                    f"{task} head {result.head.digest} -> {result.path}"
                )
            )
            self.stdout.write(
                f"trained on {result.n_train} examples ({result.head.trained_on}), "
                f"L2 {result.l2} chosen by cross-validation on them"
            )
            if result.extra_in_eval:
                self.stdout.write(
                    f"{result.extra_in_eval} ticket label(s) left out: their text "
                    "is in the eval split"
                )
            metrics = result.metrics.get("eval")
            if not metrics:
                self.stdout.write("no eval split: accuracy not measured")
                continue
            accuracy = metrics["accuracy"]
            style = (
                self.style.SUCCESS if accuracy >= TARGETS[task] else self.style.ERROR
            )
            self.stdout.write(
                style(
                    f"eval accuracy {accuracy:.4f} on {metrics['n']} sentences "
                    f"(target {TARGETS[task]})"
                )
            )
            self.stdout.write(format_confusion(metrics))
            if "emails" in result.metrics:
                self._report_emails(task, result.metrics["emails"])

    def _eval_emails(self, path: Path) -> list[Any]:
        """The evaluation emails as the models read them: quoted history cut, and
        other languages translated where apertium can; the rest is reported as
        not analysed, as the pipeline would."""
        from triage.quoting import strip_quoted
        from workers.nlp.offline.apertium import ApertiumTranslationStep
        from workers.nlp.offline.train import EvalEmail, load_emails

        emails, unread = [], []
        for row in load_emails(path):
            text = strip_quoted(row["text"])
            language = row.get("language", "en")
            if language != "en":
                try:
                    (done,) = ApertiumTranslationStep(language, "en")([text])
                except Exception:
                    unread.append(language)
                    continue
                text = done["text"]
            emails.append(EvalEmail(text, row["sentiment"], row["intent"], language))
        self.stdout.write(
            f"{len(emails)} evaluation emails from {path.name}"
            + (
                f"; not analysed (no translation model): {len(unread)} "
                f"({', '.join(sorted(set(unread)))})"
                if unread
                else ""
            )
        )
        return emails

    def _report_emails(self, task: str, emails: dict[str, Any]) -> None:
        from workers.nlp.offline.evaluate import format_confusion

        key, target = EMAIL_TARGETS[task]
        self.stdout.write(f"whole emails, temperature {emails['temperature']:.3f}:")
        for subset, title in (("en", "English"), ("all", "all languages")):
            block = emails[subset]
            self.stdout.write(f"  {title} ({block['after']['n']} emails)")
            for stage in ("before", "after", "calibrated"):
                m = block[stage]
                self.stdout.write(
                    f"    {stage:<10} accuracy {m['accuracy']:.3f}  macro-F1 "
                    f"{m['macro_f1']:.3f}  ECE {m['ece']:.3f}"
                )
            self.stdout.write("    per class (calibrated): precision / recall (n)")
            for label, pc in block["calibrated"]["per_class"].items():
                self.stdout.write(
                    f"      {label:<14} {pc['precision']:.2f} / {pc['recall']:.2f} "
                    f"({pc['support']})"
                )
        value = emails["en"]["calibrated"][key]
        style = self.style.SUCCESS if value >= target else self.style.ERROR
        self.stdout.write(
            style(f"English {key} {value:.4f} on whole emails (target {target})")
        )
        self.stdout.write(format_confusion(emails["en"]["calibrated"]))
