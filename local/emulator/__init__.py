"""Offline Pinecone emulator: bulk import (really reading Parquet from S3/moto or file://), vectors, control plane.

Entry points: ``local.emulator.server.EmulatorServer`` (in-process, tests) and ``local.emulator.cli`` (``serve``).
"""
