"""tapkit.syntax"""
