"""Helpers shared by test modules: fakes of pure logic and fixtures that are expensive to make."""
