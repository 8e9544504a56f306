"""What list owners hear and decide by mail: notices of held posts and of posts whose
deliveries failed, and approving or rejecting a held post by replying to its notice."""
