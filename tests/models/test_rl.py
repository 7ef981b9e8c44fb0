"""dlbook.models.rl and dlbook.rl: the networks against torch, one full REINFORCE, critic and
DQN update in NumPy equal to torch's in float64, returns, GAE, the gridworld's Bellman
equations, the maximisation bias, the replay buffer and CartPole episode batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbook import optim
from dlbook.models.rl import (
    numpy_forward,
    policy_net,
    policy_net_torch,
    q_net,
    q_net_torch,
    stacked_torch,
    unstack_torch,
    value_net,
    value_net_torch,
)
from dlbook.parity import compare
from dlbook.rl import (
    GridWorld,
    ReplayBuffer,
    advantages,
    collect_episodes,
    discounted_return,
    dqn_loss_stacked_torch,
    dqn_loss_torch,
    dqn_targets,
    dqn_update,
    episodes_to_solve,
    epsilon_at,
    evaluate_policy,
    gae,
    make_vector_env,
    max_bias_experiment,
    policy_evaluation,
    q_from_v,
    random_policy_returns,
    record_rollout,
    reinforce_loss,
    reinforce_loss_torch,
    reinforce_update,
    reward_to_go,
    train_dqn,
    train_policy_gradient,
    value_iteration,
    value_update,
)

TOL = dict(rtol=1e-10, atol=1e-12)


def _twin(builder, builder_torch, seed=0, **kwargs):
    torch.manual_seed(seed)
    net_t = builder_torch(**kwargs).double()
    net = builder(**kwargs)
    net.load_state_dict(net_t.state_dict())
    return net, net_t


def _assert_params_equal(net, net_t):
    ours = dict(net.named_parameters())
    for name, p in net_t.named_parameters():
        np.testing.assert_allclose(ours[name].data, p.detach().numpy(), **TOL, err_msg=name)


# -- networks ------------------------------------------------------------------------------

@pytest.mark.parametrize(("builder", "builder_torch", "kwargs", "out"), [
    (policy_net, policy_net_torch, {"obs_dim": 4, "n_actions": 2, "hidden": 8}, 2),
    (policy_net, policy_net_torch, {"obs_dim": 3, "n_actions": 5, "hidden": 7}, 5),
    (value_net, value_net_torch, {"obs_dim": 4, "hidden": 6}, 1),
    (q_net, q_net_torch, {"obs_dim": 6, "n_actions": 3, "hidden": 5}, 3)])
@pytest.mark.parametrize("batch", [1, 9])
def test_networks_match_torch(builder, builder_torch, kwargs, out, batch):
    torch.manual_seed(0)
    net_t = builder_torch(**kwargs).double()
    report = compare(builder(**kwargs), net_t,
                     np.random.default_rng(batch).normal(size=(batch, kwargs["obs_dim"])))
    assert report.ok, report.table(exact=True)
    assert report["output"].shape == (batch, out)
    assert list(builder(**kwargs).state_dict()) == list(net_t.state_dict())


def test_network_errors():
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        policy_net(hidden=0)
    with pytest.raises(ValueError, match="obs_dim must be a positive integer"):
        q_net_torch(obs_dim=-1)


# -- REINFORCE loss and updates ------------------------------------------------------------

def _pg_batch(m=11, n_actions=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(m, 4)), rng.integers(0, n_actions, m), 3 * rng.normal(size=m))


@pytest.mark.parametrize(("m", "n_actions"), [(1, 2), (11, 3), (40, 2)])
def test_reinforce_loss_and_logit_gradient_match_torch(m, n_actions):
    rng = np.random.default_rng(m)
    logits, actions, w = rng.normal(size=(m, n_actions)), rng.integers(0, n_actions, m), \
        rng.normal(size=m)
    loss, grad = reinforce_loss(logits, actions, w)
    lt = torch.tensor(logits, requires_grad=True)
    loss_t = reinforce_loss_torch(lt, torch.tensor(actions), torch.tensor(w))
    loss_t.backward()
    np.testing.assert_allclose(loss, loss_t.item(), **TOL)
    np.testing.assert_allclose(grad, lt.grad.numpy(), **TOL)
    # the closed form: w (softmax - onehot) / M
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(grad, w[:, None] * (p - np.eye(n_actions)[actions]) / m, **TOL)


def test_reinforce_loss_rejects_mismatched_weights():
    with pytest.raises(ValueError, match=r"weights must have shape \(3,\)"):
        reinforce_loss(np.zeros((3, 2)), np.zeros(3, dtype=int), np.zeros(4))


@pytest.mark.parametrize("steps", [1, 3])
def test_reinforce_update_equals_torch_in_float64(steps):
    net, net_t = _twin(policy_net, policy_net_torch, n_actions=3, hidden=8)
    opt, opt_t = optim.Adam(net.parameters(), lr=0.01), torch.optim.Adam(net_t.parameters(),
                                                                         lr=0.01)
    for step in range(steps):
        obs, actions, w = _pg_batch(seed=step)
        loss = reinforce_update(net, opt, obs, actions, w)
        loss_t = reinforce_loss_torch(net_t(torch.tensor(obs)), torch.tensor(actions),
                                      torch.tensor(w))
        opt_t.zero_grad()
        loss_t.backward()
        grads = {n: p.grad.numpy().copy() for n, p in net_t.named_parameters()}
        opt_t.step()
        np.testing.assert_allclose(loss, loss_t.item(), **TOL)
        for name, p in net.named_parameters():
            np.testing.assert_allclose(p.grad, grads[name], **TOL, err_msg=name)
        _assert_params_equal(net, net_t)


def test_value_update_equals_torch_in_float64():
    net, net_t = _twin(value_net, value_net_torch, hidden=8)
    opt, opt_t = optim.Adam(net.parameters(), lr=0.05), torch.optim.Adam(net_t.parameters(),
                                                                         lr=0.05)
    obs, _, y = _pg_batch()
    loss = value_update(net, opt, obs, y)
    loss_t = torch.nn.functional.mse_loss(net_t(torch.tensor(obs))[:, 0], torch.tensor(y))
    opt_t.zero_grad()
    loss_t.backward()
    opt_t.step()
    np.testing.assert_allclose(loss, loss_t.item(), **TOL)
    _assert_params_equal(net, net_t)


def test_a_sign_error_in_the_policy_gradient_is_caught_by_parity():
    """Ascending -loss (a flipped sign) moves the weights the other way: parity fails."""
    net, net_t = _twin(policy_net, policy_net_torch, hidden=8)
    obs, actions, w = _pg_batch(n_actions=2)
    opt = optim.SGD(net.parameters(), lr=0.1)
    opt.zero_grad()
    _, grad = reinforce_loss(net(obs), actions, w)
    net.backward(-grad)
    opt.step()
    opt_t = torch.optim.SGD(net_t.parameters(), lr=0.1)
    reinforce_loss_torch(net_t(torch.tensor(obs)), torch.tensor(actions),
                         torch.tensor(w)).backward()
    opt_t.step()
    with pytest.raises(AssertionError):
        _assert_params_equal(net, net_t)


# -- returns and advantages -----------------------------------------------------------------

def test_reward_to_go_by_hand_and_brute_force():
    np.testing.assert_allclose(reward_to_go(np.array([1.0, 1.0, 1.0]), 0.5), [1.75, 1.5, 1.0])
    rng = np.random.default_rng(0)
    r, gamma = rng.normal(size=17), 0.93
    brute = [sum(gamma ** (k - t) * r[k] for k in range(t, 17)) for t in range(17)]
    np.testing.assert_allclose(reward_to_go(r, gamma), brute, rtol=1e-12)
    assert discounted_return(r, gamma) == pytest.approx(brute[0], rel=1e-12)
    assert reward_to_go(np.array([1, 2]), 1.0).dtype == np.float64
    assert discounted_return(np.array([]), 0.9) == 0.0


def test_reward_to_go_masks_steps_after_the_end():
    rewards = np.ones((4, 2))
    mask = np.array([[1, 1], [1, 1], [0, 1], [0, 1]])
    out = reward_to_go(rewards, 0.5, mask=mask)
    np.testing.assert_allclose(out[:, 0], [1.5, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[:, 1], [1.875, 1.75, 1.5, 1.0])


def test_reward_to_go_errors():
    with pytest.raises(ValueError, match="gamma must be in"):
        reward_to_go(np.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, N\)"):
        reward_to_go(np.ones((2, 2, 2)), 0.9)
    with pytest.raises(ValueError, match="mask must have"):
        reward_to_go(np.ones((3, 2)), 0.9, mask=np.ones(3))


def _episodes(seed=0, t=6, n=3):
    rng = np.random.default_rng(seed)
    alive = np.ones((t, n), dtype=bool)
    alive[4:, 0] = False                       # episode 0 ends (terminates) at step 3
    terminated = np.zeros((t, n))
    terminated[3, 0] = 1.0                     # episodes 1, 2 are truncated at step 5
    rewards = rng.normal(size=(t, n)) * alive
    values, next_values = rng.normal(size=(t, n)), rng.normal(size=(t, n))
    next_values[:-1] = values[1:]
    return rewards, alive, terminated, values, next_values


def test_gae_limits_are_td_error_and_baseline():
    rewards, alive, terminated, values, next_values = _episodes()
    delta = (rewards + 0.9 * (1 - terminated) * next_values - values) * alive
    np.testing.assert_allclose(gae(rewards, values, next_values, terminated, alive, 0.9, 0.0),
                               delta, rtol=1e-12)
    # lambda = 1 on the terminated episode: G_t - V(s_t)
    a1 = gae(rewards, values, next_values, terminated, alive, 0.9, 1.0)
    g = reward_to_go(rewards, 0.9, mask=alive)
    np.testing.assert_allclose(a1[:4, 0], (g - values)[:4, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="lam must be"):
        gae(rewards, values, next_values, terminated, alive, 0.9, 2.0)


def test_advantages_per_method():
    rewards, alive, terminated, values, next_values = _episodes(1)
    g = reward_to_go(rewards, 0.99, mask=alive)
    psi, target = advantages("reinforce", rewards, alive, terminated, None, None, 0.99)
    np.testing.assert_array_equal(psi, g)
    assert target is None
    psi, target = advantages("baseline", rewards, alive, terminated, values, None, 0.99)
    np.testing.assert_allclose(psi, g - values)
    np.testing.assert_array_equal(target, g)
    psi, target = advantages("actor_critic", rewards, alive, terminated, values, next_values,
                             0.99, lam=0.5)
    np.testing.assert_allclose(psi, gae(rewards, values, next_values, terminated, alive,
                                        0.99, 0.5))
    np.testing.assert_allclose(target, psi + values)
    with pytest.raises(ValueError, match="needs the critic"):
        advantages("baseline", rewards, alive, terminated, None, None, 0.99)
    with pytest.raises(ValueError, match="method must be one of"):
        advantages("sarsa", rewards, alive, terminated, values, next_values, 0.99)


# -- DQN --------------------------------------------------------------------------------------

def test_dqn_targets_by_hand():
    r, done = np.array([1.0, 0.5, -1.0]), np.array([0.0, 0.0, 1.0])
    next_target = np.array([[2.0, 3.0], [4.0, 1.0], [9.0, 9.0]])
    next_online = np.array([[5.0, 0.0], [0.0, 5.0], [1.0, 0.0]])
    np.testing.assert_allclose(dqn_targets(r, done, next_target, 0.5), [2.5, 2.5, -1.0])
    # double DQN: the online net picks a' (0, 1, 0), the target net evaluates it
    np.testing.assert_allclose(dqn_targets(r, done, next_target, 0.5, next_online),
                               [2.0, 1.0, -1.0])
    with pytest.raises(ValueError, match="next_q_online must have"):
        dqn_targets(r, done, next_target, 0.5, next_online[:, :1])


def _dqn_batch(n=13, seed=0):
    rng = np.random.default_rng(seed)
    return {"obs": rng.normal(size=(n, 4)), "actions": rng.integers(0, 2, n),
            "rewards": rng.normal(size=n), "next_obs": rng.normal(size=(n, 4)),
            "terminated": (rng.random(n) < 0.3).astype(float)}


@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("delta", [1.0, 0.05])
def test_dqn_update_equals_torch_in_float64(double, delta):
    q, q_t = _twin(q_net, q_net_torch, hidden=8)
    q_target, q_target_t = _twin(q_net, q_net_torch, seed=1, hidden=8)
    opt, opt_t = optim.Adam(q.parameters(), lr=0.01), torch.optim.Adam(q_t.parameters(),
                                                                       lr=0.01)
    for step in range(2):
        batch = _dqn_batch(seed=step)
        loss = dqn_update(q, q_target, opt, batch, 0.99, double=double, delta=delta)
        loss_t = dqn_loss_torch(q_t, q_target_t, {k: torch.tensor(v) for k, v in batch.items()},
                                0.99, double=double, delta=delta)
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
        np.testing.assert_allclose(loss, loss_t.item(), **TOL)
        _assert_params_equal(q, q_t)
    _assert_params_equal(q_target, q_target_t)          # the target network never moves


def test_replay_buffer_ring_and_sampling():
    buf = ReplayBuffer(5, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty"):
        buf.sample(1)
    for start in (0, 3):
        k = 3
        obs = np.arange(start, start + k, dtype=float)[:, None].repeat(2, 1)
        buf.add(obs, np.arange(k), np.arange(start, start + k), obs + 1, np.zeros(k))
    assert len(buf) == 5
    np.testing.assert_array_equal(buf.rewards, [5, 1, 2, 3, 4])   # 0 overwritten by 5
    batch = buf.sample(200)
    assert set(batch["rewards"]) == {1, 2, 3, 4, 5}
    np.testing.assert_array_equal(batch["next_obs"][:, 0], batch["obs"][:, 0] + 1)
    with pytest.raises(ValueError, match="exceed the capacity"):
        buf.add(np.zeros((6, 2)), np.zeros(6), np.zeros(6), np.zeros((6, 2)), np.zeros(6))
    with pytest.raises(ValueError, match="capacity must be"):
        ReplayBuffer(0, 2, np.random.default_rng(0))


def test_epsilon_schedule():
    assert epsilon_at(0, 1.0, 0.05, 100) == 1.0
    assert epsilon_at(50, 1.0, 0.05, 100) == pytest.approx(0.525)
    assert epsilon_at(100, 1.0, 0.05, 100) == epsilon_at(10_000, 1.0, 0.05, 100) == 0.05


# -- the gridworld ---------------------------------------------------------------------------

def test_gridworld_model_is_a_distribution_and_walls_block():
    g = GridWorld()
    live = ~g.terminal
    np.testing.assert_allclose(g.P[live].sum(axis=2), 1.0)
    assert g.P[g.terminal].sum() == 0 and g.R[g.terminal].sum() == 0
    corridor = GridWorld(layout=("S.G",), slip=0.0, step_reward=0.0)
    # "up" from the start hits the edge and stays; "right" moves one cell
    assert corridor.P[0, 0, 0] == 1.0 and corridor.P[0, 1, 1] == 1.0
    with pytest.raises(ValueError, match="same length"):
        GridWorld(layout=("S.", "..G"))
    with pytest.raises(ValueError, match="only use the characters"):
        GridWorld(layout=("S.X",))


def test_value_iteration_on_a_corridor_by_hand():
    g = GridWorld(layout=("S..G",), slip=0.0, step_reward=0.0)
    result = value_iteration(g.P, g.R, gamma=0.9)
    np.testing.assert_allclose(result.V, [0.81, 0.9, 1.0, 0.0], atol=1e-9)
    assert list(result.policy[:3]) == [1, 1, 1]                  # all "right"


def test_value_iteration_solves_the_bellman_equations():
    g = GridWorld()
    result = value_iteration(g.P, g.R, gamma=0.95, tol=1e-12)
    # optimality: V = max_a Q(V)
    np.testing.assert_allclose(q_from_v(g.P, g.R, result.V, 0.95).max(axis=1), result.V,
                               atol=1e-10)
    # expectation: the greedy policy's exact value is V*
    greedy = np.eye(4)[result.policy]
    np.testing.assert_allclose(policy_evaluation(g.P, g.R, greedy, 0.95), result.V, atol=1e-9)
    # the contraction: each sweep's change at most gamma times the last one
    d = np.array(result.deltas)
    assert np.all(d[1:] <= 0.95 * d[:-1] + 1e-15)
    # a uniformly random policy is worse everywhere it can be
    uniform = np.full_like(greedy, 0.25)
    assert np.all(policy_evaluation(g.P, g.R, uniform, 0.95) <= result.V + 1e-12)
    with pytest.raises(ValueError, match="policy must have shape"):
        policy_evaluation(g.P, g.R, uniform[:, :2], 0.95)


def test_max_bias_q_learning_prefers_the_worse_action_double_q_does_not():
    q = max_bias_experiment(double=False, n_runs=300, n_episodes=100)
    dq = max_bias_experiment(double=True, n_runs=300, n_episodes=100)
    assert q[5:30].mean() > 0.6 > 0.45 > dq[5:30].mean()
    assert dq[-20:].mean() < 0.15
    np.testing.assert_array_equal(q, max_bias_experiment(double=False, n_runs=300,
                                                         n_episodes=100))


# -- CartPole episodes and training ------------------------------------------------------------

def _balance(obs):
    """A hand-written controller: push toward where the pole is falling."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


def test_collect_episodes_masks_and_returns():
    env = make_vector_env(5)
    batch = collect_episodes(env, lambda obs: np.zeros(len(obs), dtype=np.int64), seed=0)
    env.close()
    lengths = batch.alive.sum(axis=0)
    np.testing.assert_array_equal(batch.returns, lengths)        # reward 1 per step
    assert np.all(lengths < 20)                                  # always left: falls fast
    # the episode is alive up to its end, then not
    for i, n in enumerate(lengths):
        assert batch.alive[:n, i].all() and not batch.alive[n:, i].any()
        assert batch.terminated[n - 1, i] and batch.terminated[:, i].sum() == 1
    np.testing.assert_array_equal(batch.obs[1:][batch.alive[1:]],
                                  batch.next_obs[:-1][batch.alive[1:]])
    assert batch.flat()["obs"].shape == (lengths.sum(), 4)


def test_balancing_controller_reaches_the_time_limit_and_random_does_not():
    returns = evaluate_policy(_balance, n_episodes=10, seed=1)
    assert returns.max() == 500 and returns.mean() > 400
    random = random_policy_returns(50, seed=0)
    assert 10 < random.mean() < 40
    states = record_rollout(_balance, seed=3)
    assert states.shape[1] == 4 and len(states) == 501


def test_episodes_to_solve():
    assert episodes_to_solve(np.full(99, 500.0)) is None
    r = np.concatenate([np.full(50, 10.0), np.full(200, 500.0)])
    # mean of the last 100 first reaches 475 once at most 5 of them are 10s
    assert episodes_to_solve(r) == 145


def test_training_is_reproducible_and_returns_curves():
    torch.set_num_threads(1)
    a = train_policy_gradient("actor_critic", seeds=(0, 1), n_updates=2, episodes_per_update=4)
    b = train_policy_gradient("actor_critic", seeds=(0, 1), n_updates=2, episodes_per_update=4)
    assert [r["seed"] for r in a] == [0, 1] and a[0]["returns"].shape == (8,)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["returns"], y["returns"])
        for name, p in x["policy"].state_dict().items():
            torch.testing.assert_close(p, y["policy"].state_dict()[name], rtol=0, atol=0)
    assert not np.array_equal(a[0]["returns"], a[1]["returns"])
    with pytest.raises(ValueError, match="method must be one of"):
        train_policy_gradient("ppo")
    d = train_dqn(seeds=(0, 1), total_steps=1_200, learning_starts=400)
    e = train_dqn(seeds=(0, 1), total_steps=1_200, learning_starts=400)
    assert len(d[0]["returns"]) == len(d[0]["ends"]) > 10
    for x, y in zip(d, e, strict=True):
        np.testing.assert_array_equal(x["returns"], y["returns"])
        for name, p in x["q"].state_dict().items():
            torch.testing.assert_close(p, y["q"].state_dict()[name], rtol=0, atol=0)


# -- acting in NumPy, K networks side by side --------------------------------------------------

def test_numpy_forward_equals_torch_and_follows_updates():
    torch.manual_seed(0)
    net = policy_net_torch(hidden=8)
    act = numpy_forward(net)
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(act(obs), net(torch.tensor(obs)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    net(torch.tensor(obs)).sum().backward()
    opt.step()                                         # in place: the NumPy view sees it
    np.testing.assert_allclose(act(obs), net(torch.tensor(obs)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="3-layer MLP"):
        numpy_forward(torch.nn.Linear(2, 2))


def test_stacked_networks_equal_separate_ones_forward_and_one_dqn_update():
    nets, targets = [], []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(q_net_torch(hidden=8).double())
        targets.append(q_net_torch(hidden=8).double())
    stack, stack_target = stacked_torch(nets), stacked_torch(targets)
    batches = [_dqn_batch(n=9, seed=s) for s in range(3)]
    x = torch.tensor(np.stack([b["obs"] for b in batches]))
    out = stack(x)
    for j, net in enumerate(nets):
        np.testing.assert_allclose(out[j].detach().numpy(), net(x[j]).detach().numpy(), **TOL)
    np.testing.assert_allclose(numpy_forward(stack)(x.numpy()), out.detach().numpy(), **TOL)
    # one update of the stack = one update of each network on its own batch
    for double in (False, True):
        opt = torch.optim.Adam(stack.parameters(), lr=0.01)
        stacked_batch = {k: torch.tensor(np.stack([b[k] for b in batches])) for k in batches[0]}
        loss = dqn_loss_stacked_torch(stack, stack_target, stacked_batch, 0.99, double)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total = 0.0
        for net, target, batch in zip(nets, targets, batches, strict=True):
            opt_j = torch.optim.Adam(net.parameters(), lr=0.01)
            loss_j = dqn_loss_torch(net, target, {k: torch.tensor(v) for k, v in batch.items()},
                                    0.99, double)
            opt_j.zero_grad()
            loss_j.backward()
            opt_j.step()
            total += loss_j.item()
        np.testing.assert_allclose(loss.item(), total, **TOL)
        for mine, theirs in zip(unstack_torch(stack, q_net_torch, hidden=8), nets, strict=True):
            for name, p in theirs.state_dict().items():
                np.testing.assert_allclose(mine.state_dict()[name].numpy(), p.numpy(), **TOL)
    with pytest.raises(ValueError, match="same shapes"):
        stacked_torch([q_net_torch(hidden=4), q_net_torch(hidden=5)])
