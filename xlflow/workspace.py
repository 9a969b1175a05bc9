"""The working folder (DESIGN.md's contract): where inputs, the inbox, outputs and the ledger live.

`xlflow init DIR` lays one out; the repository root is one too, so defaults work out of the box.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from xlflow.campaign import Campaign
from xlflow.checklist import Checklist, load_checklist
from xlflow.roster import Branch, load_roster
from xlflow.settings import DEFAULT_TOML, SETTINGS_FILE, Settings, load_settings

CHECKLIST_FILE = "checklist.yaml"
ROSTER_FILE = "branches.xlsx"
LEDGER_FILE = "xlflow.db"


def defaults_dir() -> Path:
    """The shipped templates/: installed as the package's defaults/ (pyproject maps the repository's
    templates/ there), or, in a source checkout or an editable install, the repository's own."""
    here = Path(__file__).resolve().parent
    installed = here / "defaults"
    return installed if installed.is_dir() else here.parent / "templates"


@dataclass(frozen=True)
class Workspace:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    # inputs
    @property
    def templates(self) -> Path: return self.root / "templates"
    @property
    def checklist_path(self) -> Path: return self.templates / CHECKLIST_FILE
    @property
    def roster_path(self) -> Path: return self.templates / ROSTER_FILE
    # inbox
    @property
    def inbox(self) -> Path: return self.root / "inbox"
    @property
    def accepted(self) -> Path: return self.inbox / "accepted"
    @property
    def rejected(self) -> Path: return self.inbox / "rejected"
    @property
    def duplicates(self) -> Path: return self.inbox / "duplicates"
    # outputs
    @property
    def outbox(self) -> Path: return self.root / "outbox"
    @property
    def handout(self) -> Path: return self.outbox / "templates"
    @property
    def feedback(self) -> Path: return self.outbox / "feedback"
    @property
    def review(self) -> Path: return self.outbox / "review"
    @property
    def master(self) -> Path: return self.outbox / "master.xlsx"
    @property
    def reports(self) -> Path: return self.outbox / "reports"
    @property
    def ledger(self) -> Path: return self.root / LEDGER_FILE
    @property
    def log(self) -> Path: return self.root / "xlflow.log"
    @property
    def backups(self) -> Path: return self.root / "backups"  # rotating copies of the ledger

    def is_working_folder(self) -> bool:
        """A folder `xlflow init` made (or the repository root): it has settings or a checklist.
        Commands refuse any other folder, so a wrong --root or cwd never grows a lock, log or inbox."""
        return (self.root / SETTINGS_FILE).is_file() or self.checklist_path.is_file()

    def settings(self) -> Settings:
        return load_settings(self.root)

    def checklist(self) -> Checklist:
        return load_checklist(self.checklist_path)

    def campaign(self) -> Campaign:
        """The checklist, the settings and the roster, loaded once for a command."""
        return Campaign(self.checklist(), self.settings(), self.roster())

    def roster(self) -> list[Branch]:
        # read once per process while the file is unchanged: a pass and its rebuild both ask for it,
        # and reading a 1,000-branch roster with openpyxl takes half a second
        path = self.roster_path
        try:
            st = path.stat()
        except OSError:
            return load_roster(path)
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _ROSTERS:
            _ROSTERS.clear()
            _ROSTERS[key] = load_roster(path)
        return list(_ROSTERS[key])

    def archived(self) -> list[Path]:
        """The originals kept in inbox/accepted, rejected and duplicates."""
        return [p for d in (self.accepted, self.rejected, self.duplicates) if d.is_dir()
                for p in d.iterdir() if p.is_file() and not p.name.startswith(".")]

    def make_dirs(self) -> None:
        for d in (self.templates, self.accepted, self.rejected, self.duplicates, self.handout,
                  self.feedback, self.review, self.reports):
            d.mkdir(parents=True, exist_ok=True)


_ROSTERS: dict[tuple, list[Branch]] = {}


def init_workspace(root: Path | str) -> tuple[Workspace, list[Path]]:
    """Create a working folder; never overwrites a file that exists. Returns the files created."""
    ws = Workspace(Path(root))
    ws.make_dirs()
    created = []
    settings = ws.root / SETTINGS_FILE
    if not settings.exists():
        settings.write_text(DEFAULT_TOML, encoding="utf-8")
        created.append(settings)
    for src in sorted(defaults_dir().iterdir()):
        dest = ws.templates / src.name
        if src.suffix in (".yaml", ".xlsx", ".docx") and not dest.exists():
            shutil.copyfile(src, dest)
            created.append(dest)
    return ws, created
