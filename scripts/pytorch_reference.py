"""The same U-Net in PyTorch, timed on this machine: the reference the README compares with.

    pip install torch==2.13.0   # not a dependency of the project; any recent CPU build works
    python scripts/pytorch_reference.py [--steps 5] [--warmup_steps 2] [--config float32:channels_last]

Builds the paper's network as model/unet.py does (unpadded 3x3 convolutions, 2x2 pooling,
64..1024 channels, dropout 0.5 at the bottom, 2x2 up-convolutions, crop-and-concatenate,
1x1 output), then times batch-1 training steps on 572x572 windows (cross-entropy + soft Dice,
SGD with momentum) and inference in float32 and bfloat16 autocast, each with the default and
the channels_last memory format (--config picks some). Prints a Markdown table and one JSON
line (scripts/benchmark.py --pytorch_python reads it). Preload jemalloc from
outside (LD_PRELOAD) to time it with that allocator.
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

FILTERS = (64, 128, 256, 512, 1024)
DTYPES = ('float32', 'bfloat16')
MEMORY_FORMATS = ('default', 'channels_last')


def double_conv(channels_in, channels_out):
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3), nn.ReLU(inplace=True),
                         nn.Conv2d(channels_out, channels_out, 3), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        channels = [1, *FILTERS]
        self.down = nn.ModuleList(double_conv(channels[i], channels[i + 1]) for i in range(4))
        self.bottleneck = double_conv(FILTERS[3], FILTERS[4])
        self.up = nn.ModuleList(nn.ConvTranspose2d(FILTERS[i + 1], FILTERS[i], 2, stride=2)
                                for i in reversed(range(4)))
        self.decode = nn.ModuleList(double_conv(2 * FILTERS[i], FILTERS[i])
                                    for i in reversed(range(4)))
        self.output = nn.Conv2d(FILTERS[0], 2, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = F.dropout(self.bottleneck(x), 0.5, self.training)
        for up, decode, skip in zip(self.up, self.decode, reversed(skips)):
            x = up(x)
            offset = (skip.shape[-1] - x.shape[-1]) // 2
            skip = skip[..., offset:offset + x.shape[-2], offset:offset + x.shape[-1]]
            x = decode(torch.cat([skip, x], dim=1))
        return self.output(x)


def loss_fn(logits, labels):
    cross_entropy = F.cross_entropy(logits, labels)
    probabilities = torch.softmax(logits, dim=1)
    one_hot = F.one_hot(labels, 2).permute(0, 3, 1, 2).float()
    intersection = (probabilities * one_hot).sum((0, 2, 3))
    union = probabilities.sum((0, 2, 3)) + one_hot.sum((0, 2, 3))
    return cross_entropy + 1 - (2 * intersection / union).mean()


def time_steps(step, steps, warmup_steps):
    for _ in range(warmup_steps):
        step()
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return len(seconds) / sum(seconds)


def measure(dtype, channels_last, steps, warmup_steps, size):
    torch.manual_seed(0)
    model = UNet()
    images = torch.rand(1, 1, size, size) * 2 - 1
    with torch.no_grad():
        output_shape = model(images).shape[2:]  # 388x388 for 572x572: no padding
    labels = torch.randint(0, 2, (1, *output_shape))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.99,
                                weight_decay=0.0005)
    autocast = torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == 'bfloat16')

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            logits = model(images)
        loss_fn(logits.float(), labels).backward()
        optimizer.step()

    def inference_step():
        with torch.inference_mode(), autocast:
            torch.softmax(model(images).float(), dim=1)

    model.train()
    train = time_steps(train_step, steps, warmup_steps)
    model.eval()
    inference = time_steps(inference_step, steps, warmup_steps)
    return {'dtype': dtype, 'channels_last': channels_last,
            'train_images_per_sec': train, 'inference_images_per_sec': inference}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup_steps', type=int, default=2)
    parser.add_argument('--input_size', type=int, default=572,
                        help='window side, 16k+124 as for main.py')
    parser.add_argument('--config', action='append', metavar='DTYPE:FORMAT',
                        help=f'measure only these, e.g. float32:channels_last (dtypes '
                             f'{", ".join(DTYPES)}; formats {", ".join(MEMORY_FORMATS)}); '
                             f'default: all four')
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup_steps < 0:
        parser.error('--steps must be >= 1 and --warmup_steps >= 0')
    if args.input_size < 124 or (args.input_size - 124) % 16:
        parser.error(f'--input_size={args.input_size}: expected 16k+124, e.g. 572')
    configs = args.config or [f'{d}:{f}' for d in DTYPES for f in MEMORY_FORMATS]
    for config in configs:
        dtype, _, memory_format = config.partition(':')
        if dtype not in DTYPES or memory_format not in MEMORY_FORMATS:
            parser.error(f'--config={config}: expected DTYPE:FORMAT, e.g. float32:channels_last')
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    results = []
    for config in configs:
        dtype, _, memory_format = config.partition(':')
        results.append(measure(dtype, memory_format == 'channels_last', args.steps,
                               args.warmup_steps, args.input_size))
    preload = os.environ.get('LD_PRELOAD', '')
    print(f'PyTorch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'jemalloc {"preloaded" if "jemalloc" in preload else "not preloaded"}, '
          f'batch 1, {args.input_size}x{args.input_size}')
    print('| dtype | channels_last | train img/s | inference img/s |\n|---|---|---:|---:|')
    for r in results:
        print(f"| {r['dtype']} | {r['channels_last']} | {r['train_images_per_sec']:.3f} | "
              f"{r['inference_images_per_sec']:.3f} |")
    print(json.dumps({'torch': torch.__version__, 'jemalloc': 'jemalloc' in preload,
                      'input_size': args.input_size, 'results': results}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
