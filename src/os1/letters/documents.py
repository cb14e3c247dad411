"""Letters as files: txt, md and docx read and written, PDF read.

A document is its paragraphs. A revision is saved as a new file beside the
original ("Letter to Chris (proofread).docx", then "... 2"), never over it and
never half-written: it is written to a temporary file and linked into place
only when whole, and the link fails rather than replace a file already there.
A docx keeps its styles: a changed paragraph keeps its first run's formatting.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from os1.errors import DocumentError

READABLE = (".txt", ".md", ".docx", ".pdf")
#: A PDF's revision is saved as a docx: PDF is for reading, not editing.
WRITTEN_AS = {".pdf": ".docx"}
#: Larger files are not read (a letter is a few pages; a 50 MB file is not one).
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Document:
    path: Path
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(p for p in self.paragraphs if p.strip())

    @property
    def title(self) -> str:
        return self.path.stem


def read(path: Path) -> Document:
    """The document at ``path``; :class:`DocumentError` saying why not."""
    kind = path.suffix.lower()
    if kind not in READABLE:
        raise DocumentError(f"{path.name} is not a letter I can read (txt, md, docx or pdf).")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"I cannot open {path.name}: {exc.strerror or exc}.") from exc
    if size > MAX_BYTES:
        raise DocumentError(f"{path.name} is {size // 2**20} MB, too big to be a letter; I left it alone.")
    try:
        if kind == ".docx":
            return Document(path, _read_docx(path))
        if kind == ".pdf":
            return Document(path, _read_pdf(path))
        text = path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")
        return Document(path, tuple(p.strip("\n") for p in text.split("\n\n")))
    except DocumentError:
        raise
    except OSError as exc:
        raise DocumentError(f"I cannot open {path.name}: {exc.strerror or exc}.") from exc
    except Exception as exc:  # noqa: BLE001 - the libraries raise many kinds for a broken file
        raise DocumentError(f"{path.name} looks damaged, so I could not read it "
                            f"({type(exc).__name__}). The file is untouched.") from exc


def _read_docx(path: Path) -> tuple[str, ...]:
    import docx

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{path.name} is not a valid Word document (it may be damaged); "
                            "the file is untouched.") from exc
    except Exception as exc:
        if type(exc).__name__ == "PackageNotFoundError":
            raise DocumentError(f"{path.name} is not a valid Word document (it may be damaged); "
                                "the file is untouched.") from exc
        raise
    return tuple(p.text for p in document.paragraphs)


def _read_pdf(path: Path) -> tuple[str, ...]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError) as exc:
        raise DocumentError(f"{path.name} is not a readable PDF (it may be damaged); "
                            "the file is untouched.") from exc
    paragraphs: list[str] = []
    for page in pages:
        for block in page.replace("\r", "").split("\n\n"):
            lines = [line.strip() for line in block.split("\n")]
            if any(lines):
                paragraphs.append(" ".join(line for line in lines if line))
    return tuple(paragraphs)


def version_path(original: Path, label: str) -> Path:
    """The first free "<name> (<label>)<ext>", "<name> (<label> 2)<ext>", ..."""
    suffix = WRITTEN_AS.get(original.suffix.lower(), original.suffix)
    for n in range(1, 1000):
        name = f"{original.stem} ({label}){suffix}" if n == 1 else f"{original.stem} ({label} {n}){suffix}"
        candidate = original.with_name(name)
        if not candidate.exists():
            return candidate
    raise DocumentError(f"There are already 999 {label} versions of {original.name}.")


def save_version(document: Document, paragraphs: Sequence[str], label: str = "revised") -> Path:
    """``paragraphs`` (aligned with ``document.paragraphs``) saved as a new
    file beside the original; its path."""
    if len(paragraphs) != len(document.paragraphs):
        raise ValueError("a version must have one paragraph for each of the original's")
    for _ in range(5):  # another writer may take the free name first
        target = version_path(document.path, label)
        try:
            write_whole(target, lambda tmp: _write(document, paragraphs, tmp, target.suffix.lower()))
            return target
        except FileExistsError:
            continue
    raise DocumentError(f"I could not find a free name for the new version of {document.path.name}.")


def write_new_letter(target: Path, text: str) -> Path:
    """A new letter (docx, or text for .txt/.md), never over an existing file."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    try:
        write_whole(target, lambda tmp: _write(Document(target, tuple(paragraphs)), paragraphs, tmp,
                                               target.suffix.lower(), fresh=True))
    except FileExistsError:
        raise DocumentError(f"There is already a file called {target.name}.") from None
    return target


def write_whole(target: Path, write: Callable[[Path], object]) -> None:
    """``write`` makes the file at a temporary path; it is linked to ``target``
    only when whole. FileExistsError if ``target`` exists (nothing is replaced)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".os1-", suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise DocumentError(f"I cannot write in {target.parent}: {exc.strerror or exc}.") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.link(tmp, target)  # fails if the name was taken meanwhile: nothing is replaced
    except FileExistsError:
        raise
    except OSError as exc:
        raise DocumentError(f"I could not save {target.name}: {exc.strerror or exc}. "
                            "Nothing was changed.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _write(document: Document, paragraphs: Sequence[str], tmp: Path, kind: str, *, fresh: bool = False) -> None:
    if kind == ".docx":
        import docx

        if document.path.suffix.lower() == ".docx" and not fresh:
            out = docx.Document(str(document.path))
            for p, (old, new) in zip(out.paragraphs, zip(document.paragraphs, paragraphs)):
                if old == new:
                    continue
                if p.runs:
                    p.runs[0].text = new
                    for run in p.runs[1:]:
                        run.text = ""
                else:
                    p.add_run(new)
        else:
            out = docx.Document()
            for new in paragraphs:
                out.add_paragraph(new)
        out.save(str(tmp))
    else:
        tmp.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
