"""tapkit.debuginfo"""
