"""tapkit.gen"""
