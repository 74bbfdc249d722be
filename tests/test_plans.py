"""Print-size photos: the first layers in strips (vgg.net.tiles, vgg.net.tiled), the losses and gradient they
give against the whole graph's, the choice of a plan within a budget (vgg.style.plans), and --memory-limit."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cli_inputs import cli_argv, run_cli, write_cli_inputs

import minigrad as mg
import stylize_cli
from vgg import Run, random_vgg19
from vgg.net import tiles
from vgg.net.layers import VGG19_LAYERS
from vgg.net.tiled import forward_strips
from vgg.style import memory, plans
from vgg.style.losses import Objective, style_grams
from vgg.style.planned import PlannedObjective, planned_style_grams

SPLITS = ("pool1", "pool2", "pool3", "pool4")


@pytest.fixture(scope="module")
def net():
    return random_vgg19(seed=0, channel_scale=1 / 8)


def _image(rng, h, w):
    return rng.uniform(-120, 120, (1, h, w, 3)).astype(np.float32)


# ---- the strips ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("height", [1, 2, 7, 37, 64, 101])
@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("rows", [1, 3, 8])
def test_strips_partition_every_layer_and_start_on_the_pooling_grid(height, split, rows):
    plan = tiles.strips(height, split, rows)
    sizes = tiles.heights(height, split)
    assert [s.owned for s in plan] == [(a, min(a + rows, sizes[-1])) for a in range(0, sizes[-1], rows)]
    pools = sum(n.startswith("pool") for n in VGG19_LAYERS[: VGG19_LAYERS.index(split) + 1])
    for layer, size in zip(VGG19_LAYERS, sizes):
        owned = [tiles.owned_rows(height, split, layer, s.owned) for s in plan]
        assert owned[0][0] == 0 and owned[-1][1] == size
        assert all(a[1] == b[0] for a, b in zip(owned, owned[1:]))  # no gap, no overlap
    for s in plan:
        lo, hi = s.image
        assert lo % 2**pools == 0 and (hi % 2**pools == 0 or hi == height) and 0 <= lo < hi <= height


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("rows", [1, 2, 5])
def test_the_strips_give_the_split_and_every_earlier_layer_as_the_whole_image(net, split, rows):
    rng = np.random.default_rng(1)
    image = _image(rng, 53, 29)  # odd sizes: SAME pooling pads, the strips do not divide the image
    earlier = [n for n in VGG19_LAYERS[: VGG19_LAYERS.index(split)] if n.startswith("relu")]
    pieces = {name: [] for name in earlier}

    def keep(name):
        return lambda features, rows_: pieces[name].append((rows_, features.copy()))

    out = forward_strips(net, image, split, rows, {n: keep(n) for n in earlier})
    with mg.no_grad():
        whole = net.forward(mg.Tensor(image), [*earlier, split])
    np.testing.assert_allclose(out, whole[split].data, rtol=1e-5, atol=1e-4)
    for name in earlier:
        for (lo, hi), features in pieces[name]:
            np.testing.assert_allclose(features, whole[name].data[:, lo:hi], rtol=1e-5, atol=1e-4)


# ---- the planned objective against the whole graph -------------------------------------------------------


def _losses_and_gradient(objective, x0):
    x = mg.Tensor(x0.copy(), requires_grad=True)
    losses = objective(x)
    losses.total.backward()
    values, layers = losses.read(True)
    return values, layers, x.grad


CASES = {
    "defaults": {},
    "relu5_2 and avg pooling": {"content_weight_blend": 0.5, "avg": True},
    "two styles, weighted layers": {"styles": 2, "style_layer_weight_exp": 1.7},
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("plan", [tiles.Plan(s, r) for s in SPLITS for r in (1, 3)], ids=str)
def test_planned_losses_and_gradient_equal_the_whole_graphs(case, plan):
    settings = dict(CASES[case])
    net = random_vgg19(seed=0, channel_scale=1 / 8, pooling="avg" if settings.pop("avg", False) else "max")
    rng = np.random.default_rng(2)
    content, x0 = _image(rng, 37, 53), _image(rng, 37, 53)
    styles = [_image(rng, 41, 47) for _ in range(settings.pop("styles", 1))]
    blend = [1.0 / len(styles)] * len(styles)
    plain = _losses_and_gradient(Objective(net, content, styles, blend, **settings), x0)
    planned = _losses_and_gradient(PlannedObjective(net, content, styles, blend, plan=plan, **settings), x0)
    for name, value in plain[0].items():
        assert planned[0][name] == pytest.approx(value, rel=2e-5), name
    for name, value in plain[1].items():
        assert planned[1][name] == pytest.approx(value, rel=2e-5), name
    scale = np.abs(plain[2]).max()
    assert np.abs(planned[2] - plain[2]).max() <= 2e-5 * scale


def test_an_extra_term_is_in_the_planned_total_and_gradient(net):
    rng = np.random.default_rng(3)
    content, x0, style = _image(rng, 30, 22), _image(rng, 30, 22), _image(rng, 30, 22)
    target = mg.Tensor(rng.uniform(-50, 50, (1, 30, 22, 3)).astype(np.float32))
    extra = {"pixel": lambda image: 0.01 * mg.l2_loss(image - target)}
    plain = _losses_and_gradient(Objective(net, content, [style], [1.0], extra=extra), x0)
    planned = _losses_and_gradient(
        PlannedObjective(net, content, [style], [1.0], extra=extra, plan=tiles.Plan("pool2", 2)), x0
    )
    assert planned[0]["pixel"] == pytest.approx(plain[0]["pixel"], rel=1e-6)
    assert np.abs(planned[2] - plain[2]).max() <= 2e-5 * np.abs(plain[2]).max()


def test_without_a_gradient_the_planned_objective_keeps_no_graph(net):
    rng = np.random.default_rng(4)
    objective = PlannedObjective(net, _image(rng, 20, 24), [_image(rng, 20, 24)], [1.0], plan=tiles.Plan("pool1", 2))
    with mg.no_grad():
        losses = objective(mg.Tensor(_image(rng, 20, 24), requires_grad=True))
    assert not losses.total.requires_grad and losses.total._ctx is None


@pytest.mark.parametrize("plan", [tiles.Plan("pool1", 1), tiles.Plan("pool3", 2), tiles.Plan("pool4", 1)], ids=str)
def test_planned_style_targets_equal_the_whole_graphs(net, plan):
    style = _image(np.random.default_rng(5), 45, 31)
    whole, planned = style_grams(net, style), planned_style_grams(net, style, plan)
    for name, gram in whole.items():
        np.testing.assert_allclose(planned[name].data, gram.data, rtol=2e-5, atol=1e-6 * np.abs(gram.data).max())


# ---- choosing a plan -------------------------------------------------------------------------------------


def test_the_plain_graph_when_it_fits_the_cheapest_plan_when_not_and_one_line_when_none():
    hw = (512, 512)
    plain = plans.peak_bytes(hw, [hw], None)
    assert plans.choose(hw, [hw], plain) is None
    chosen = plans.choose(hw, [hw], plain - 1)
    assert chosen is not None and plans.peak_bytes(hw, [hw], chosen) <= plans.PLAN_MARGIN * (plain - 1)

    def seconds(p):  # FLOPs, slower by GLIBC_HEAP_TIME where the budget has no room to keep the heap
        return plans.flops(hw, p) * (1 if plans.keeps_heap(hw, [hw], p, plain - 1) else plans.GLIBC_HEAP_TIME)

    quicker = [p for p in plans.candidates(hw[0]) if seconds(p) < seconds(chosen)]
    assert all(plans.peak_bytes(hw, [hw], p) > plans.PLAN_MARGIN * (plain - 1) for p in quicker)
    with pytest.raises(plans.NoPlanFitsError, match="even the leanest plan needs about"):
        plans.choose(hw, [hw], 10 * 2**20)


def test_a_gpu_plan_is_counted_in_a_kept_pool():
    """CuPy's memory pool keeps its blocks as a kept heap does: on cupy a plan is estimated so, with no fallback to
    the leaner estimate of glibc's defaults, which the GPU does not have."""
    hw, gpu = (512, 512), {"backend": "cupy"}
    assert plans.keeps_heap(hw, [hw], tiles.Plan("pool2", 16), 1, **gpu)
    leanest = min(plans.peak_bytes(hw, [hw], p, kept_heap=True, **gpu) for p in plans.candidates(hw[0]))
    budget = int(leanest / plans.PLAN_MARGIN) + 1
    chosen = plans.choose(hw, [hw], budget, **gpu)
    assert plans.peak_bytes(hw, [hw], chosen, kept_heap=True, **gpu) <= plans.PLAN_MARGIN * budget
    assert min(plans.peak_bytes(hw, [hw], p, **gpu) for p in plans.candidates(hw[0])) <= plans.PLAN_MARGIN * (
        budget - 2
    )
    with pytest.raises(plans.NoPlanFitsError):  # though a glibc heap's estimate would fit
        plans.choose(hw, [hw], budget - 2, **gpu)


def test_a_plan_costs_more_flops_the_deeper_it_splits_and_the_thinner_its_strips():
    hw = (1024, 768)
    plain = plans.flops(hw, None)
    for split in SPLITS:
        costs = [plans.flops(hw, tiles.Plan(split, rows)) for rows in (2, 8, 32)]
        assert plain < costs[-1] < costs[1] < costs[0]
    deeper = [plans.flops(hw, tiles.Plan(split, 16)) for split in SPLITS]
    assert deeper == sorted(deeper)


def _a_budget_only_a_plan_meets(hw, style_hws):
    """A budget the whole graph does not fit in and some plan does (with the plans' margin)."""
    plain = plans.peak_bytes(hw, style_hws, None)
    leanest = min(plans.peak_bytes(hw, style_hws, p) for p in plans.candidates(hw[0]))
    budget = int(leanest / plans.PLAN_MARGIN) + 1
    assert budget < plain, "the case is not exercised: no plan is leaner than the whole graph here"
    return budget


def test_a_run_plans_each_scale_on_its_own(net):
    rng = np.random.default_rng(6)
    content, style = rng.uniform(0, 255, (384, 512, 3)), rng.uniform(0, 255, (384, 512, 3))
    budget = _a_budget_only_a_plan_meets((384, 512), [(384, 512)])
    assert plans.peak_bytes((24, 32), [(24, 32)], None) <= budget  # the first scale fits whole
    run = Run(net, content, [style], scales=[32, 512], iterations=1, seed=0, memory_limit=budget)
    list(run.events())
    assert run.plans[0] is None and run.plans[1] is not None


def test_the_full_size_plan_is_the_last_scales(net):
    rng = np.random.default_rng(6)
    content, style = rng.uniform(0, 255, (384, 512, 3)), rng.uniform(0, 255, (384, 512, 3))
    budget = _a_budget_only_a_plan_meets((384, 512), [(384, 512)])
    planned = Run(net, content, [style], scales=[32, 512], iterations=1, memory_limit=budget)
    assert planned.full_size_plan() == plans.choose((384, 512), [(384, 512)], budget)
    assert Run(net, content, [style], scales=[32, 512], iterations=1).full_size_plan() is None
    forced = tiles.Plan("pool2", 8)
    assert Run(net, content, [style], iterations=1, plan=forced).full_size_plan() == forced


def _a_budget_with_room_for_a_kept_heap(hw, style_hws):
    """A budget the whole graph does not fit in, where the chosen plan's kept-heap estimate fits too."""
    plain = plans.peak_bytes(hw, style_hws, None)
    for k in range(99, 20, -1):
        budget = plain * k // 100
        try:
            plan = plans.choose(hw, style_hws, budget)
        except plans.NoPlanFitsError:
            break
        if plan is not None and plans.peak_bytes(hw, style_hws, plan, kept_heap=True) <= plans.PLAN_MARGIN * budget:
            return budget
    raise AssertionError("the case is not exercised: no budget between a plan with room and the whole graph")


@pytest.mark.parametrize("budget", ["plain", "tight", "roomy"])
def test_a_planned_run_keeps_its_heap_only_where_the_budget_has_room_for_it(files, monkeypatch, budget):
    """A plan's phases leave a heap that is never given back in pieces (1.45x its glibc peak at 12 MP): a plan keeps
    one (faster) only when the kept heap's estimate fits the budget with the plans' margin; the plain graph always."""
    from minigrad import backend
    from vgg.cli import flags, invocation, session

    calls = []
    monkeypatch.setattr(backend, "reuse_host_memory", lambda: calls.append("reuse"))
    monkeypatch.setattr(backend, "release_host_memory", lambda: calls.append("release"))
    argv = cli_argv(files, "o.png", 1, "--width", "512")
    hw, style_hws = (409, 512), [(640, 512)]
    limit = {
        "plain": None,
        "tight": _a_budget_only_a_plan_meets(hw, style_hws),
        "roomy": _a_budget_with_room_for_a_kept_heap(hw, style_hws),
    }[budget]
    if limit is not None:
        argv += ["--memory-limit", str(limit)]
    inv, _ = invocation.build(flags.parse(argv))
    run = session.make_run(inv, None)
    plan = run.full_size_plan()
    assert (plan is not None) is (budget != "plain")
    if plan is not None:
        fits = plans.peak_bytes(hw, style_hws, plan, kept_heap=True) <= plans.PLAN_MARGIN * limit
        assert fits is (budget == "roomy"), "the case is not exercised"
    assert calls == (["release"] if budget == "tight" else ["reuse"])


# ---- the command line ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("plans"), "new")


def test_a_budget_no_plan_meets_is_one_line_before_the_network_loads(files, tmp_path, capsys):
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 2, "--width", "2000", "--memory-limit", "300MB"))
    lines = [x for x in err.splitlines() if not x.startswith("stylize: warning")]
    assert code == 2 and len(lines) == 1 and "even with its leanest plan" in lines[0] and "300 MB" in lines[0], err
    assert "--width that fits is" in lines[0] and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("value", ["8XB", "-1", "0", "lots"])
def test_a_bad_memory_limit_is_one_line(files, tmp_path, capsys, value):
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 2, f"--memory-limit={value}"))
    assert code == 2 and len(err.splitlines()) == 1 and "--memory-limit" in err


@pytest.mark.parametrize("room", [False, True])
def test_the_dry_run_names_the_plan_its_peak_time_and_heap(files, tmp_path, capsys, room):
    hw, style_hws = (409, 512), [(640, 512)]  # --width 512 of the 20x16 content, 24x24 style
    budget = (_a_budget_with_room_for_a_kept_heap if room else _a_budget_only_a_plan_meets)(hw, style_hws)
    argv = cli_argv(files, tmp_path / "o.png", 2, "--width", "512", "--memory-limit", budget, "--dry-run")
    assert stylize_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"512x409: 2 iterations, about \S+ s each; layers up to pool\d in \d+ strips of \d+ rows", out)
    assert "estimated peak host memory" in out and "budget" in out
    plan = plans.choose(hw, style_hws, budget)
    peak = memory.format_bytes(plans.peak_bytes(hw, style_hws, plan, kept_heap=room))  # the heap it runs in
    assert f"; estimated peak host memory {peak}\n" in out, (peak, out)
    assert ("the heap kept for reuse" in out) is room and ("the heap left at glibc's defaults" in out) is not room


def test_a_planned_cli_run_prints_the_same_first_losses_as_the_whole_graph(files, tmp_path, capsys):
    argv = cli_argv(files, tmp_path / "a.png", 1, "--width", "512", "--seed", "3", "--print-iterations", "1")
    code, whole = run_cli(capsys, argv)
    assert code == 0, whole
    budget = _a_budget_only_a_plan_meets((409, 512), [(640, 512)])
    code, planned = run_cli(capsys, [*argv[:5], str(tmp_path / "b.png"), *argv[6:], "--memory-limit", str(budget)])
    assert code == 0, planned
    numbers = [[float(v) for v in re.findall(r"loss: (\S+)", err)] for err in (whole, planned)]
    assert len(numbers[0]) == 4 and numbers[1] == pytest.approx(numbers[0], rel=1e-5)


def test_planned_equals_whole_on_each_backend(xp):
    """The same code on cupy arrays (skipped without a CUDA device): strips, surrogates and the op's backward."""
    backend = "numpy" if xp is np else "cupy"
    net = random_vgg19(seed=0, channel_scale=1 / 8, backend=backend)
    rng = np.random.default_rng(7)
    content, x0, style = _image(rng, 29, 35), _image(rng, 29, 35), _image(rng, 31, 33)
    plain = _losses_and_gradient(Objective(net, content, [style], [1.0]), xp.asarray(x0))
    planned = _losses_and_gradient(
        PlannedObjective(net, content, [style], [1.0], plan=tiles.Plan("pool2", 3)), xp.asarray(x0)
    )
    for name, value in plain[0].items():
        assert planned[0][name] == pytest.approx(value, rel=2e-5), name
    difference = float(xp.abs(planned[2] - plain[2]).max())
    assert difference <= 2e-5 * float(xp.abs(plain[2]).max())
