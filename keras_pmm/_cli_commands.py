"""The work behind each `keras-pmm` command (imported after the backend is set)."""

import shlex
import sys

import numpy as np


def _percent(value):
    from keras_pmm.zoo.cards import (
        percent,
    )  # imports keras: only once the backend is set

    return percent(value)


def zoo_list(args):
    from keras_pmm import zoo

    rows = [
        ("preset", "data set", "parameters", "test accuracy", "description")
    ]
    for name in zoo.list():
        info = zoo.metadata(name)
        accuracy = (
            _percent(info["evaluation"]["test_accuracy"])
            if info["trained"]
            else "not trained here"
        )
        rows.append(
            (
                name,
                info["dataset"],
                f"{info['parameters']:,}",
                accuracy,
                info["description"],
            )
        )
    from keras_pmm.zoo.demo import format_table

    print(format_table(rows))


def _folder_and_preset(name):
    import pathlib

    from keras_pmm import zoo
    from keras_pmm.zoo import storage

    if name in zoo.PRESETS:
        return zoo.PRESETS_DIR / name, zoo.PRESETS[name]
    folder = pathlib.Path(name).expanduser()
    if not (folder / storage.METADATA_FILE).is_file():
        raise zoo._unknown(name)
    info = storage.read_metadata(folder)
    if info.get("name") not in zoo.PRESETS:
        raise ValueError(f"{folder} was not trained from a known preset.")
    return folder, zoo.PRESETS[info["name"]]


def zoo_evaluate(args):
    from keras_pmm import zoo
    from keras_pmm.zoo import evaluation
    from keras_pmm.zoo import storage

    folder, preset = _folder_and_preset(args.name)
    model = zoo.load(args.name)
    _, (x_test, y_test) = preset.data.load(args.data_dir)
    result = evaluation.evaluate(
        model, x_test, y_test, len(preset.data.class_names)
    )
    print(
        f"{args.name}: test accuracy {_percent(result['accuracy'])} "
        f"({result['correct']:,} / {result['size']:,}) on {preset.data.name}, "
        f"{model.count_params():,} parameters"
    )
    card = storage.read_metadata(folder).get("evaluation")
    if card:
        same = card["test_correct"] == result["correct"]
        print(
            f"card:  test accuracy {_percent(card['test_accuracy'])} "
            f"({card['test_correct']:,} / {card['test_size']:,}) on {card['backend']}: "
            + ("reproduced exactly" if same else "DIFFERS")
        )
    print(f"target: {preset.target}")


def zoo_card(args):
    from keras_pmm import zoo
    from keras_pmm.zoo import cards
    from keras_pmm.zoo import storage

    folder = args.preset_dir or zoo.PRESETS_DIR / args.name
    metadata = storage.read_metadata(folder)
    confusion = None
    if metadata["trained"]:
        metadata, confusion = cards.measure(args.name, folder, args.data_dir)
    cards.write_card(folder, metadata, confusion)
    print(f"wrote {folder}/{cards.CARD_FILE}")


def zoo_readme(args):
    from keras_pmm import zoo
    from keras_pmm.zoo import cards

    cards.update_readme("README.md", zoo.PRESETS_DIR)
    print("updated the zoo table of README.md")


def predict(args):
    from keras_pmm import zoo
    from keras_pmm.zoo import images

    if args.top_k < 1:
        raise ValueError(f"--top-k must be >= 1. Received: {args.top_k}")
    _, preset = _folder_and_preset(args.name)
    batches = [images.read_images(path, args.invert) for path in args.files]
    model = zoo.load(args.name)
    class_names = preset.data.class_names
    top_k = min(args.top_k, len(class_names))
    for path, batch in zip(args.files, batches):
        probabilities = model.predict(batch, verbose=0)
        for index, row in enumerate(probabilities):
            label = path if len(batch) == 1 else f"{path}[{index}]"
            best = np.argsort(-row)[:top_k]
            print(
                f"{label}: "
                + ", ".join(f"{class_names[c]} ({row[c]:.3f})" for c in best)
            )


def train(args):
    import keras

    from keras_pmm.zoo import training

    words = (
        sys.argv[1:]
        if sys.argv[1:] and "train" in sys.argv[1:]
        else ["train", args.name]
    )
    if "--backend" not in words:
        words = ["--backend", keras.backend.backend()] + words
    command = "keras-pmm " + " ".join(shlex.quote(word) for word in words)
    metadata = training.train(
        args.name,
        data_dir=args.data_dir,
        output=args.output,
        epochs=args.epochs,
        seed=args.seed,
        devices=args.devices,
        max_train_examples=args.max_train_examples,
        overwrite=args.overwrite,
        verbose=1,
        command=command,
    )
    print(
        f"{args.name}: test accuracy {_percent(metadata['test_accuracy'])} "
        f"({metadata['test_correct']:,} / {metadata['test_size']:,}), "
        f"{metadata['parameters']:,} parameters, best epoch {metadata['best_epoch']} of "
        f"{metadata['epochs_run']}, {metadata['training_wall_time_s']:.0f} s; "
        f"written to {args.output or 'runs/' + args.name}"
    )


def demo(args):
    from keras_pmm.zoo import demo as zoo_demo

    zoo_demo.run(args.data_dir)
