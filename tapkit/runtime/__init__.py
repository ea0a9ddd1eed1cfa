"""tapkit.runtime"""
