"""Training progress: a rich bar on a terminal, a log line every `every` steps elsewhere (nohup)."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger(__name__)


def make_progress_callback(steps_per_epoch: int, batch_size: int, every: int = 50):
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.interactive = sys.stderr.isatty()
            self.bar = None
            if self.interactive:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                )

                self.bar = Progress(
                    TextColumn("epoch {task.fields[epoch]}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"),
                    TimeRemainingColumn(),
                    transient=True,
                )
                self.bar.start()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.started = epoch + 1, time.perf_counter()
            if self.bar is not None:
                self.task = self.bar.add_task(
                    "train", total=steps_per_epoch, epoch=self.epoch, rate=""
                )

        def on_train_batch_end(self, batch, logs=None):
            done = batch + 1
            rate = done * batch_size / max(time.perf_counter() - self.started, 1e-9)
            if self.bar is not None:
                self.bar.update(self.task, completed=done, rate=f"{rate:.1f} img/s")
            elif done % every == 0:
                log.info(
                    "epoch %d step %d/%d  loss %.4f  acc %.4f  %.1f img/s",
                    self.epoch,
                    done,
                    steps_per_epoch,
                    (logs or {}).get("loss", float("nan")),
                    (logs or {}).get("accuracy", float("nan")),
                    rate,
                )

        def on_epoch_end(self, epoch, logs=None):
            if self.bar is not None:
                self.bar.remove_task(self.task)

        def on_train_end(self, logs=None):
            if self.bar is not None:
                self.bar.stop()

    return Progress()
