"""The reference for CopyStudy: Python Optuna's own copy_study.

usage: optuna_copy.py FROM_URL FROM_NAME TO_URL TO_NAME
"""
import sys
import warnings

import optuna

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.copy_study(from_study_name=sys.argv[2], from_storage=sys.argv[1],
                      to_storage=sys.argv[3], to_study_name=sys.argv[4])
