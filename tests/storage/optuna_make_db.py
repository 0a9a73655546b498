"""Creates reference SQLite databases with Debian's python3-optuna (3.1) for the storage tests.

usage: optuna_make_db.py schema31 PATH     # what Optuna 3.1 creates (alembic v3.0.0.d)
       optuna_make_db.py schema32 PATH     # Optuna 3.1's models plus the index Optuna 3.2 adds
                                           # (TrialModel.study_id index=True -> ix_trials_study_id)
       optuna_make_db.py study31 PATH NAME # a small study written by Optuna 3.1
"""
import sys

import optuna
import sqlalchemy
from optuna.storages._rdb import models


def main():
    mode, path = sys.argv[1], sys.argv[2]
    url = "sqlite:///" + path
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if mode == "schema32":
        # Exactly what `index=True` on trials.study_id generates in SQLAlchemy.
        sqlalchemy.Index("ix_trials_study_id", models.TrialModel.__table__.c.study_id)
    storage = optuna.storages.RDBStorage(url)
    if mode == "study31":
        study = optuna.create_study(study_name=sys.argv[3], storage=storage)
        study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)


if __name__ == "__main__":
    main()
