"""tapkit.semantic"""
