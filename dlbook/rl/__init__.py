"""Reinforcement learning for chapter 14: exact dynamic programming on a gridworld, returns,
policy gradients (REINFORCE, a learned baseline, actor-critic) and DQN on Gymnasium's CartPole.

- :mod:`dlbook.rl.tabular`: a gridworld MDP, policy evaluation, value iteration, and
  Q-learning against double Q-learning on the maximisation-bias example.
- :mod:`dlbook.rl.returns`: discounted returns and the reward-to-go.
- :mod:`dlbook.rl.policy_gradient`: the REINFORCE loss and one full update in NumPy
  (``dlbook.nn``), its torch twin, and the torch training loops.
- :mod:`dlbook.rl.dqn`: the replay buffer, the DQN and double-DQN targets, one DQN update in
  NumPy (Huber loss) and its torch twin, and the torch training loop.
- :mod:`dlbook.rl.envs`: batches of CartPole episodes from Gymnasium's vectorised CartPole.

The networks are in :mod:`dlbook.models.rl`. torch and gymnasium are imported only inside the
functions that use them.
"""
from dlbook.rl.dqn import (
    ReplayBuffer,
    dqn_loss_stacked_torch,
    dqn_loss_torch,
    dqn_targets,
    dqn_update,
    epsilon_at,
    train_dqn,
)
from dlbook.rl.envs import (
    SOLVED_RETURN,
    EpisodeBatch,
    collect_episodes,
    episodes_to_solve,
    evaluate_policy,
    make_vector_env,
    random_policy_returns,
    record_rollout,
)
from dlbook.rl.policy_gradient import (
    advantages,
    reinforce_loss,
    reinforce_loss_torch,
    reinforce_update,
    train_policy_gradient,
    value_update,
)
from dlbook.rl.returns import discounted_return, gae, reward_to_go
from dlbook.rl.tabular import (
    ARROWS,
    GridWorld,
    max_bias_experiment,
    policy_evaluation,
    q_from_v,
    value_iteration,
)

__all__ = ["ARROWS", "SOLVED_RETURN", "EpisodeBatch", "GridWorld", "ReplayBuffer", "advantages",
           "collect_episodes", "discounted_return", "dqn_loss_stacked_torch", "dqn_loss_torch",
           "dqn_targets", "dqn_update", "episodes_to_solve", "epsilon_at", "evaluate_policy",
           "gae", "make_vector_env", "max_bias_experiment", "policy_evaluation", "q_from_v",
           "random_policy_returns", "record_rollout", "reinforce_loss", "reinforce_loss_torch",
           "reinforce_update", "reward_to_go", "train_dqn", "train_policy_gradient",
           "value_iteration", "value_update"]
