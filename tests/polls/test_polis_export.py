"""Reading Polis export folders: the classic and the newer format, by column name; malformed files
are named with their line."""

from pathlib import Path

import numpy as np
import pytest

from polls.polis_export import read_export

CLASSIC_COMMENTS = """\
timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body
1403067224363,Wed Jun 18 11:53:44 WIB 2014,1,0,1,1,1,"Raise it, ""now"",
for everyone"
1403067224364,Wed Jun 18 11:53:45 WIB 2014,0,0,1,0,1,Keep the wage as it is
1403067224365,Wed Jun 18 11:53:46 WIB 2014,2,1,0,1,-1,Spam spam spam
"""
NEWER_COMMENTS = """\
comment-id,comment-body,moderated,is-meta,is-seed,group-informed-consensus,timestamp,agrees
0,Keep the wage as it is,1,false,true,0.41,1731527035,1
1,"Raise it, ""now"",
for everyone",0,false,false,0.12,1731527036,1
2,I live downtown,1,true,false,0.9,1731527037,0
"""
VOTES = """\
timestamp,datetime,comment-id,voter-id,vote
1403054214200,x,1,7,1
1403054214196,x,0,7,-1
1403054214100,x,0,5,1
1403054214300,x,0,7,1
1403054214196,x,2,5,-1
"""
MATRIX = """\
participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2
5,0,1,2,1,1,1,,-1
7,1,0,2,2,0,1,1,
9,,0,0,0,0,,,
"""
SUMMARY = """\
topic,$15/hour
url,https://pol.is/2demo
conversation-description,"How will the law
affect Seattle?"
"""


def _export(folder: Path, comments: str = CLASSIC_COMMENTS, votes: str | None = VOTES,
            matrix: str | None = MATRIX, summary: str | None = SUMMARY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comments.csv").write_text(comments, encoding="utf-8")
    for name, text in (("votes.csv", votes), ("participants-votes.csv", matrix),
                       ("summary.csv", summary)):
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_classic_export(tmp_path: Path) -> None:
    export = read_export(_export(tmp_path))
    votes = export.votes
    assert votes.participants == (5, 7) and votes.statements == (0, 1, 2)
    # participant 7 voted -1 then 1 on statement 0: the later vote counts
    assert np.array_equal(votes.values, [[1, np.nan, -1], [1, 1, np.nan]], equal_nan=True)
    assert votes.excluded == {2}
    assert export.statements[1].text == 'Raise it, "now",\nfor everyone'
    assert export.statements[2].moderated == -1 and export.statements[2].excluded
    assert export.reference_groups == {5: 0, 7: 1}
    assert export.topic == "$15/hour" and export.description == "How will the law\naffect Seattle?"
    assert export.texts[0] == "Keep the wage as it is"


def test_newer_export_columns_found_by_name(tmp_path: Path) -> None:
    """No datetime column, extra is-meta / is-seed / group-informed-consensus columns, another
    column order; a meta statement is excluded like a moderated-out one."""
    export = read_export(_export(tmp_path, NEWER_COMMENTS, summary=None))
    assert export.votes.excluded == {2}
    assert export.statements[2].is_meta and export.statements[2].moderated == 1
    assert export.statements[1].moderated == 0 and not export.statements[1].excluded
    assert export.statements[1].text.startswith('Raise it, "now"')
    assert export.topic == "" and export.reference_groups == {5: 0, 7: 1}


def test_matrix_alone_is_enough(tmp_path: Path) -> None:
    export = read_export(_export(tmp_path, votes=None))
    assert export.votes.participants == (5, 7)
    assert np.array_equal(export.votes.values, [[1, np.nan, -1], [1, 1, np.nan]],
                          equal_nan=True)


def test_votes_without_timestamps_keep_file_order(tmp_path: Path) -> None:
    votes = "voter-id,comment-id,vote\n7,0,1\n7,0,-1\n"
    export = read_export(_export(tmp_path, votes=votes, matrix=None))
    assert export.votes.participants == (7,) and export.votes.values[0, 0] == -1.0
    assert export.reference_groups == {}


def test_a_vote_on_an_unknown_statement_still_counts(tmp_path: Path) -> None:
    votes = VOTES + "1403054214400,x,9,5,1\n"
    export = read_export(_export(tmp_path, votes=votes))
    assert 9 in export.votes.statements and export.statements[9].text == ""


@pytest.mark.parametrize(("file", "text", "message"), [
    ("comments.csv", "comment-id,comment-body\n1,hello\n",
     r"comments\.csv:1: missing column\(s\) moderated"),
    ("comments.csv", "comment-id,moderated,comment-body\n1,1,a\nx,1,b\n",
     r"comments\.csv:3: comment-id must be a whole number, not 'x'"),
    ("comments.csv", "comment-id,moderated,comment-body\n1,1,a\n1,1,b\n",
     r"comments\.csv:3: comment-id 1 appears twice"),
    ("comments.csv", "comment-id,moderated,comment-body\n1,5,a\n",
     r"comments\.csv:2: moderated must be -1, 0 or 1"),
    ("comments.csv", "comment-id,moderated,comment-body,is-meta\n1,1,a,maybe\n",
     r"comments\.csv:2: is-meta must be true or false"),
    ("comments.csv", "comment-id,moderated,comment-body\n1,1,a,extra\n",
     r"comments\.csv:2: more fields than the header"),
    ("votes.csv", "timestamp,comment-id,voter-id,vote\n1,0,5,1\n2,0,6,2\n",
     r"votes\.csv:3: vote must be 1, -1 or 0, not 2"),
    ("votes.csv", "timestamp,comment-id,voter-id\n1,0,5\n",
     r"votes\.csv:1: missing column\(s\) vote"),
    ("votes.csv", "timestamp,comment-id,voter-id,vote\nsoon,0,5,1\n",
     r"votes\.csv:2: timestamp must be a whole number"),
    ("participants-votes.csv", "participant,group-id,0\n5,0,yes\n",
     r"participants-votes\.csv:2: the vote on statement 0 must be a whole number"),
    ("participants-votes.csv", "participant,group-id,n-votes,zero\n5,0,1,1\n",
     r"participants-votes\.csv:1: a statement column must be a whole number, not 'zero'"),
])
def test_malformed_files_are_named_with_their_line(tmp_path: Path, file: str, text: str,
                                                   message: str) -> None:
    folder = _export(tmp_path)
    (folder / file).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_export(folder)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        read_export(tmp_path / "nowhere")
    folder = _export(tmp_path / "a", votes=None, matrix=None)
    with pytest.raises(ValueError, match=r"neither votes\.csv nor participants-votes\.csv"):
        read_export(folder)
    (folder / "comments.csv").unlink()
    (folder / "votes.csv").write_text(VOTES)
    with pytest.raises(ValueError, match=r"comments\.csv: cannot be read"):
        read_export(folder)
    (folder / "comments.csv").write_text("")
    with pytest.raises(ValueError, match=r"comments\.csv:1: missing column"):
        read_export(folder)
