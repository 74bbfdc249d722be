"""python -m vgg.download's three sources against the loopback server: the smallest first without --source, the
next when a host fails, each resumed, checked and placed atomically, and the file it gives read by the CLI."""

from __future__ import annotations

import hashlib
import os

import local_http
import pytest
from local_http import Behaviour, dead_url, serve, url_of
from synthetic_caffe import write_vgg19_caffemodel
from synthetic_keras import write_vgg19_h5
from synthetic_vgg import random_weights, write_vgg19_mat

from vgg import download
from vgg.download import resumable as http_resume
from vgg.net import discovery, releases
from vgg.net.load import read_network
from vgg.net.releases import Release

server = pytest.fixture(name="server")(local_http.running_server)
local_only = pytest.fixture(autouse=True, name="local_only")(local_http.isolate)
MAT, KERAS, _, CAFFE = releases.DEFAULT_NAMES
PATHS = {"keras": f"/keras/{KERAS}", "keras-mirror": f"/mirror/{KERAS}", "mat": f"/mat/{MAT}", "caffe": f"/ox/{CAFFE}"}


@pytest.fixture(scope="module")
def payloads(tmp_path_factory):
    """{source: the bytes of its synthetic file}, the same weights in each."""
    root, weights = tmp_path_factory.mktemp("sources"), random_weights(seed=2)
    write_vgg19_h5(root / KERAS, weights)
    write_vgg19_mat(root / MAT, "new", weights=weights, published_mean=True)
    write_vgg19_caffemodel(root / CAFFE, weights)
    return {source: (root / name).read_bytes() for source, name in (("keras", KERAS), ("mat", MAT), ("caffe", CAFFE))}


@pytest.fixture
def hosts(server, payloads, monkeypatch, tmp_path):
    """Each source's file served (Keras's at two hosts) and known by its MD5: {path name: Behaviour}."""
    monkeypatch.chdir(tmp_path)
    behaviours = {key: serve(server, path, payloads[key.split("-")[0]]) for key, path in PATHS.items()}
    known = []
    for source, filename in (("keras", KERAS), ("mat", MAT), ("caffe", CAFFE)):
        urls = [url_of(server, path=p) for key, p in PATHS.items() if key.startswith(source)]
        md5 = hashlib.md5(payloads[source]).hexdigest()
        known.append(Release(source, filename, f"the test's {filename}", md5, None, tuple(urls), len(payloads[source])))
    monkeypatch.setattr(releases, "RELEASES", tuple(known))
    return behaviours


def run(capsys, *argv):
    code = download.main(list(argv))
    return code, capsys.readouterr().err


def cached(name):
    return os.path.join(discovery.cache_dir(), name)


def test_without_source_the_smallest_file_comes_first(server, hosts, payloads, capsys):
    code, err = run(capsys)
    assert code == 0, err
    assert open(cached(KERAS), "rb").read() == payloads["keras"]
    assert server.requests == [(PATHS["keras"], None)]
    assert err.splitlines()[0] == f"vgg.download: fetching {KERAS} from {url_of(server, path=PATHS['keras'])}"
    assert err.splitlines()[-1].startswith(f"vgg.download: {cached(KERAS)}: saved: the test's {KERAS} (MD5 ")
    assert "--network" not in err  # the CLI finds it there
    assert read_network(discovery.find_network()).format == "keras"


def test_a_failing_host_falls_back_to_the_next_host_then_the_next_source(server, hosts, payloads, capsys):
    hosts["keras"].status = 503
    hosts["keras-mirror"].portal = True  # a page instead of the file
    hosts["mat"].cuts, hosts["mat"].cut_after = 99, 1000  # cut every time
    code, err = run(capsys)
    assert code == 0, err
    assert [path for path, _ in server.requests] == [PATHS["keras"], PATHS["keras-mirror"], *[PATHS["mat"]] * 4,
                                                     PATHS["caffe"]]  # fmt: skip
    assert open(cached(CAFFE), "rb").read() == payloads["caffe"]
    assert not os.path.exists(cached(KERAS)) and not os.path.exists(cached(MAT))
    assert os.path.getsize(cached(MAT) + ".part") == 4000  # kept for a later run
    notes = [line for line in err.splitlines() if "trying the next host" in line]
    assert len(notes) == 3 and "HTTP 503" in notes[0] and "text/html page" in notes[1] and "is kept" in notes[2]


def test_when_every_host_fails_one_line_names_each(server, hosts, capsys):
    for behaviour in hosts.values():
        behaviour.status = 404
    code, err = run(capsys)
    assert code == 1 and os.listdir(discovery.cache_dir()) == []  # no file, no partial
    last = err.splitlines()[-1]
    assert last.startswith("vgg.download: error: no source gave the file (")
    for path in PATHS.values():
        assert f"{url_of(server, path=path)}: HTTP 404" in last


@pytest.mark.parametrize("source", ["mat", "keras", "caffe"])
def test_source_picks_one_file(server, hosts, payloads, capsys, source):
    code, err = run(capsys, "--source", source)
    assert code == 0, err
    filename = releases.downloadable(source).filename
    assert open(cached(filename), "rb").read() == payloads[source]
    assert [path for path, _ in server.requests] == [PATHS[source]]
    assert read_network(cached(filename)).format == source


@pytest.mark.parametrize("source", ["mat", "keras", "caffe"])
def test_every_source_resumes_where_it_stopped(server, hosts, payloads, capsys, monkeypatch, source):
    monkeypatch.setattr(http_resume, "ATTEMPTS", 1)
    hosts[source].cuts, hosts[source].cut_after = 1, 5000
    if source == "keras":
        hosts["keras-mirror"].status = 500  # both hosts fail this time
    code, err = run(capsys, "--source", source)
    filename = releases.downloadable(source).filename
    assert code == 1 and os.path.getsize(cached(filename) + ".part") == 5000 and not os.path.exists(cached(filename))
    assert "run the same command again to resume" in err.splitlines()[-1]
    hosts.get("keras-mirror").status = None
    code, err = run(capsys, "--source", source)
    assert code == 0, err
    assert open(cached(filename), "rb").read() == payloads[source] and not os.path.exists(cached(filename) + ".part")
    assert server.requests[-1] == (PATHS[source], "bytes=5000-")


def test_a_resumed_partial_may_come_from_the_other_host(server, hosts, payloads, capsys, monkeypatch):
    monkeypatch.setattr(http_resume, "ATTEMPTS", 1)
    hosts["keras"].cuts, hosts["keras"].cut_after = 1, 3000
    code, err = run(capsys, "--source", "keras")
    assert code == 0, err
    assert server.requests == [(PATHS["keras"], None), (PATHS["keras-mirror"], "bytes=3000-")]
    assert open(cached(KERAS), "rb").read() == payloads["keras"]


def test_a_file_that_is_not_the_release_is_deleted_and_the_next_tried(server, hosts, payloads, capsys):
    for key in ("keras", "keras-mirror"):
        hosts[key].data = payloads["keras"][:-10] + b"0123456789"  # same size, another file
    code, err = run(capsys)
    assert code == 0, err
    assert not os.path.exists(cached(KERAS)) and not os.path.exists(cached(KERAS) + ".part")
    assert open(cached(MAT), "rb").read() == payloads["mat"]
    assert "the downloaded file is not the expected one" in err and "deleted it" in err


def test_a_file_already_there_is_not_fetched(server, hosts, payloads, capsys):
    os.makedirs(discovery.cache_dir())
    with open(cached(CAFFE), "wb") as f:
        f.write(payloads["caffe"])
    code, err = run(capsys)
    assert code == 0 and server.requests == []
    assert err == f"vgg.download: {cached(CAFFE)}: already there: the test's {CAFFE} (MD5 {releases.RELEASES[2].md5})\n"


def test_one_output_file_keeps_each_sources_partial_apart(server, hosts, payloads, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(http_resume, "ATTEMPTS", 1)
    for key in ("keras", "keras-mirror"):
        hosts[key].cuts, hosts[key].cut_after = 1, 2000
    out = tmp_path / "weights.bin"
    code, err = run(capsys, "--output", str(out))
    assert code == 0, err
    assert out.read_bytes() == payloads["mat"]  # not the Keras bytes with the .mat's appended
    assert os.path.getsize(f"{out}.keras.part") == 4000 and not os.path.exists(f"{out}.mat.part")
    assert f"pass --network {out}" in err


def test_url_with_source_names_the_file_and_its_releases(server, hosts, payloads, capsys, tmp_path):
    url = url_of(server, path="/elsewhere/weights")
    serve(server, "/elsewhere/weights", payloads["caffe"])
    code, err = run(capsys, "--url", url, "--source", "caffe")
    assert code == 0, err
    assert open(cached(CAFFE), "rb").read() == payloads["caffe"]
    code, err = run(capsys, "--url", url, "--source", "keras", "--output", str(tmp_path / "k.h5"))
    assert code == 1 and "is no known release" in err and releases.RELEASES[0].md5 in err
    assert f"{releases.RELEASES[2].md5} (the test's" not in err  # only Keras's releases are accepted


def test_a_dead_host_is_connection_refused_and_skipped(server, hosts, payloads, capsys, monkeypatch):
    keras = Release("keras", KERAS, "k", releases.RELEASES[0].md5, None, (dead_url("/" + KERAS),))
    monkeypatch.setattr(releases, "RELEASES", (keras, *releases.RELEASES[1:]))
    code, err = run(capsys)
    assert code == 0, err
    assert "connection refused" in err and open(cached(MAT), "rb").read() == payloads["mat"]


def test_behaviour_is_per_path(server):
    other = serve(server, "/a", b"x")
    assert isinstance(other, Behaviour) and server.paths["/a"] is other
