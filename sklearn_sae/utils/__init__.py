"""Utilities: gradient checking against finite differences."""

from ._gradient import check_gradient, numerical_gradient

__all__ = ["check_gradient", "numerical_gradient"]
