"""Control: the controller that advances rollouts, evaluates policies and acts via the store."""
