"""Train and evaluate speech-to-text models with LightningCLI (installed: ``crossprobe-train``).

    python train.py fit --config configs/experiment/demo_en_asr.yaml [--model.preset s] [...]
    python train.py test --config configs/experiment/demo_en_asr.yaml --ckpt_path CKPT
    python train.py fit --help
"""

from s2t.train import main

if __name__ == "__main__":
    main()
