"""Example training job for Plinth retraining workflows.

Trains a scikit-learn classifier on a CSV file (last column = label), logs parameters and
metrics to MLflow (MLFLOW_TRACKING_URI), logs the model (and with --register-as registers it as a
version in MLflow itself; under Plinth leave it off: the workflow registers the version with its
lineage tags and decides on promotion), and prints one JSON line last: {"run_id", "source", "metrics"} -- what a `command` training action
reads. Plinth passes RETRAIN_WORKFLOW_ID, RETRAIN_MODEL, RETRAIN_TRIGGER and the data window;
the run is tagged with the workflow id so it can be found again.

    python train.py --data data.csv [--c 1.0] [--max-iter 200] [--test-size 0.25] [--register-as NAME]

Without MLFLOW_TRACKING_URI it trains and prints metrics, with a local file source.
"""

import argparse
import csv
import json
import os
import sys
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 3:
        sys.exit(f"{path}: need a header and at least two rows")
    header, body = rows[0], rows[1:]
    try:
        data = np.array([[float(v) for v in r] for r in body], dtype=float)
    except ValueError as e:
        sys.exit(f"{path}: every value must be numeric ({e})")
    return header[:-1], data[:, :-1], data[:, -1].astype(int)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="CSV file; the last column is the label")
    p.add_argument("--register-as", help="also register the logged model under this name in MLflow")
    p.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--test-size", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--experiment", default="plinth-retraining")
    args = p.parse_args()

    features, x, y = load(args.data)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=args.test_size, random_state=args.seed, stratify=y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=args.c, max_iter=args.max_iter))
    clf.fit(x_train, y_train)
    proba = clf.predict_proba(x_test)
    pred = clf.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, pred)),
        "f1": float(f1_score(y_test, pred, average="macro")),
        "log_loss": float(log_loss(y_test, proba, labels=clf.classes_)),
    }
    params = {"C": args.c, "max_iter": args.max_iter, "test_size": args.test_size, "seed": args.seed, "rows": int(len(y)), "features": ",".join(features)}

    workflow_id = os.environ.get("RETRAIN_WORKFLOW_ID")
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        out = tempfile.mkdtemp(prefix="plinth-model-")
        import pickle

        with open(os.path.join(out, "model.pkl"), "wb") as f:
            pickle.dump(clf, f)
        print(json.dumps({"run_id": None, "source": f"file://{out}/model.pkl", "metrics": metrics}))
        return

    import mlflow
    import mlflow.sklearn

    mlflow.set_experiment(args.experiment)
    tags = {"plinth_workflow_id": workflow_id} if workflow_id else {}
    for key in ("RETRAIN_TRIGGER", "RETRAIN_DRIFT_CHECK_ID", "RETRAIN_DATA_FROM", "RETRAIN_DATA_TO"):
        if os.environ.get(key):
            tags[key.lower().replace("retrain_", "plinth_")] = os.environ[key]
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(clf, name="model", input_example=x_train[:2])
        source = info.model_uri
        mlflow.set_tag("plinth_model_source", source)
        if args.register_as:
            mlflow.register_model(source, args.register_as)
        # Progress goes to stderr: the last stdout line is the result Plinth reads.
        print(f"logged run {run.info.run_id} to {mlflow.get_tracking_uri()}", file=sys.stderr)
    print(json.dumps({"run_id": run.info.run_id, "source": source, "metrics": metrics}))


if __name__ == "__main__":
    main()
